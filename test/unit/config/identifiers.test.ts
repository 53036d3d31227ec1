import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseQualifiedName, qualifiedSql, quoteIdent } from '../../../src/config/identifiers';

const sqlOf = (text: string) => {
  const q = parseQualifiedName(text);
  return typeof q === 'string' ? `refused: ${q}` : qualifiedSql(q);
};

test('table names are read like PostgreSQL reads them and always come out quoted', () => {
  assert.equal(sqlOf('orders'), '"orders"');
  assert.equal(sqlOf('Sales.Orders'), '"sales"."orders"');
  assert.equal(sqlOf('"Sales-EU"."Order Items"'), '"Sales-EU"."Order Items"');
  assert.equal(sqlOf('public."we""ird"'), '"public"."we""ird"');
  assert.equal(sqlOf('"a.b"'), '"a.b"');
  assert.equal(sqlOf('_t$1'), '"_t$1"');
  assert.equal(sqlOf('"select"'), '"select"');
  assert.equal(quoteIdent('Order ID'), '"Order ID"');
});

test('anything that is not a name is refused with the reason, before it can reach SQL', () => {
  assert.match(sqlOf('public.t; drop table x'), /refused: unexpected ";" at character 9/);
  assert.match(sqlOf('t --'), /refused: unexpected " "/);
  assert.match(sqlOf('a.b.c'), /refused: too many dots/);
  assert.match(sqlOf('a.'), /refused: a name is missing/);
  assert.match(sqlOf('"unterminated'), /refused: unterminated quoted identifier/);
  assert.match(sqlOf('""'), /refused: empty quoted identifier/);
  assert.match(sqlOf('"x" y'), /refused: unexpected " "/);
  assert.match(sqlOf('1abc'), /refused: unexpected "1"/);
  assert.match(sqlOf('x'.repeat(64)), /longer than 63 bytes/);
  assert.match(sqlOf('"a\u0000b"'), /NUL/);
});
