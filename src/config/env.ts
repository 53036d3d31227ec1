/**
 * `${VAR}` and `${VAR:-default}` substitution in every string of a parsed config document.
 * Substituting after parsing (not in the YAML text) means a variable's value can never change the
 * document's structure.
 */
const pattern = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const unclosed = /\$\{(?![A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\})/;

export function substituteEnv(
  node: unknown,
  env: NodeJS.ProcessEnv,
  problems: string[],
  path = '',
): unknown {
  if (typeof node === 'string') {
    if (unclosed.test(node)) {
      problems.push(`${path || '(root)'}: malformed variable reference in "${node}" (use \${NAME} or \${NAME:-default})`);
      return node;
    }
    return node.replace(pattern, (_whole, name: string, fallback: string | undefined) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      problems.push(`${path || '(root)'}: environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
      return '';
    });
  }
  if (Array.isArray(node)) return node.map((item, i) => substituteEnv(item, env, problems, `${path}[${i}]`));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      out[key] = substituteEnv(value, env, problems, path ? `${path}.${key}` : key);
    }
    return out;
  }
  return node;
}
