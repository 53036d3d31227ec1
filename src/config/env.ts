import { readFileSync } from 'node:fs';
import path from 'node:path';
import { messageOf } from '../errors';
import { registerSecret } from '../log';

/**
 * Substitution in every string of a parsed config document:
 *   ${VAR}, ${VAR:-default}   an environment variable
 *   ${file:/run/secrets/pg}   a file's content without its trailing newline (Docker and Kubernetes secrets;
 *                             a relative path is relative to the config file). It is a secret: registered
 *                             before anything can print it, so it prints as ***.
 * Substituting after parsing (not in the YAML text) means a value can never change the document's structure.
 */
const pattern = /\$\{(?:file:([^}]+)|([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?)\}/g;
const unclosed = /\$\{(?!(?:file:[^}]+|[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?)\})/;

export function substituteEnv(
  node: unknown,
  env: NodeJS.ProcessEnv,
  problems: string[],
  baseDir = process.cwd(),
  at = '',
): unknown {
  if (typeof node === 'string') {
    if (unclosed.test(node)) {
      problems.push(`${at || '(root)'}: malformed variable reference in "${node}" (use \${NAME}, \${NAME:-default} or \${file:/path})`);
      return node;
    }
    return node.replace(pattern, (whole: string, file: string | undefined, name: string | undefined, fallback: string | undefined) => {
      // [Tables] A pipeline's table may be a template: ${topic} there is the topic, not a variable.
      if (whole === '${topic}' && /^pipelines\[\d+\]\.table$/.test(at)) return whole;
      if (file !== undefined) return readSecretFile(path.resolve(baseDir, file), at, problems);
      const value = env[name!];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      problems.push(`${at || '(root)'}: environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
      return '';
    });
  }
  if (Array.isArray(node)) return node.map((item, i) => substituteEnv(item, env, problems, baseDir, `${at}[${i}]`));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      out[key] = substituteEnv(value, env, problems, baseDir, at ? `${at}.${key}` : key);
    }
    return out;
  }
  return node;
}

function readSecretFile(file: string, at: string, problems: string[]): string {
  try {
    const value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    registerSecret(value);
    return value;
  } catch (err) {
    problems.push(`${at || '(root)'}: cannot read secret file ${file}: ${messageOf(err)}`);
    return '';
  }
}
