// The passes over the snapshot bundle (native/snapshot-bundle-rewrite.js) keep what the code
// does: the same module objects, the same regular expressions, modules loaded when first used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';

interface Rewrite {
  asciiOnly(code: string): string;
  loadedAtFirstUse(code: string): string;
  nodeBuiltinsAsIs(code: string): string;
}
// A plain CommonJS file of the build, outside the TypeScript tree (dist/tests/unit -> native).
const rewrite = require(path.resolve(__dirname, '..', '..', '..', 'native', 'snapshot-bundle-rewrite.js')) as Rewrite;

/** Runs bundle text as a function of require and returns what it returns. */
function run(code: string, req: (id: string) => unknown = require): unknown {
  return new Function('require', '__toESM', code)(req, (mod: object) => ({ ...mod, wrapped: true }));
}

test('built-in namespaces are the modules themselves; default imports keep their wrapper', () => {
  const code = 'var fs=__toESM(require("node:fs")),os2=__toESM(require("os")),tar=__toESM(require("tar-stream")),d=__toESM(require("node:path"));let x=d.default;';
  const out = rewrite.nodeBuiltinsAsIs(code);
  assert.equal(out, 'var fs=require("node:fs"),os2=require("os"),tar=__toESM(require("tar-stream")),d=__toESM(require("node:path"));let x=d.default;');
  assert.equal(run(`${out};return fs`), require('node:fs'));
});

test('non-ASCII text becomes \\u escapes that mean the same', () => {
  const code = 'return [/^(\\d+)(µs|μs)$/.exec("5µs")[2], "Grüße", `→${1}`]';
  const out = rewrite.asciiOnly(code);
  assert.match(out, /^[\x00-\x7f]*$/);
  assert.deepEqual(run(out), run(code));
});

test('a module loaded at first use is required when a property is read, once', () => {
  const loaded: string[] = [];
  const fakeRequire = (id: string): unknown => {
    loaded.push(id);
    return { gunzipSync: (b: string) => `gunzipped ${b}`, constants: { Z_OK: 0 } };
  };
  const out = rewrite.loadedAtFirstUse('var zlib=require("node:zlib"),fs=require("node:fs");return () => [zlib.gunzipSync("x"), "constants" in zlib, zlib.constants.Z_OK];');
  const later = run(out, (id) => (id === 'node:zlib' ? fakeRequire(id) : {})) as () => unknown[];
  assert.deepEqual(loaded, []);
  assert.deepEqual(later(), ['gunzipped x', true, 0]);
  assert.deepEqual(loaded, ['node:zlib']);
  assert.equal(rewrite.loadedAtFirstUse('var fs=require("node:fs");'), 'var fs=require("node:fs");');
});
