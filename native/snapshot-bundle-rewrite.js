// The text passes native/build-snapshot.js makes over esbuild's bundle before node builds the
// start-up snapshot from it: each makes the heap that every tspod start deserializes smaller, or
// keeps out of it what cannot survive the snapshot. Pure functions on the bundle's text
// (tests/unit/snapshot-bundle-rewrite.test.ts).
'use strict';
const { isBuiltin } = require('node:module');

// Built-in modules the snapshot does not load at build time; their require runs at first use
// instead: the binding becomes an object whose property reads (and `in`) load the module
// (esbuild reads imports as binding.name at each use). worker_threads must be here: it creates its
// SharedArrayBuffer cwd counter when it loads, which comes back undefined from the snapshot, and
// every Worker then dies in process.cwd() ("undefined is not an integer typed array"). readline
// (confirmation prompts) and zlib (pull, save, load) are only off the daily paths: -130 KB of
// blob every start deserializes. (crypto and dgram would gain nothing: child_process and the
// container modules load them at build time anyway.)
const LOADED_AT_FIRST_USE = ['worker_threads', 'readline', 'zlib'];
function loadedAtFirstUse(code) {
  let lazy = false;
  for (const name of LOADED_AT_FIRST_USE) {
    code = code.replace(new RegExp(`require\\("(node:)?${name}"\\)`, 'g'), (call) => {
      lazy = true;
      return `__atFirstUse(()=>${call})`;
    });
  }
  if (!lazy) return code;
  const helper = 'var __atFirstUse=(load,mod)=>new Proxy({},{get:(_,key)=>(mod??=load())[key],has:(_,key)=>key in(mod??=load())});';
  return code.startsWith('"use strict";') ? `"use strict";${helper}${code.slice(13)}` : helper + code;
}

// esbuild compiles `import * as fs from 'node:fs'` to `__toESM(require("node:fs"))`: a new
// object with one getter closure (and its context) per property of the module, once per
// importing module. For ~200 such imports that is ~9000 closures, ~10000 contexts and
// accessor pairs in the snapshot heap, which every start deserializes. The module object
// itself gives the same reads (live, as the getters do); only `default` differs, so imports
// whose binding is read as `.default` (default imports) keep esbuild's wrapper.
function nodeBuiltinsAsIs(code) {
  const wrapped = /\b([A-Za-z_$][\w$]*)=__toESM\((require\("(?:node:)?[a-z_/]+"\))\)/g;
  return code.replace(wrapped, (whole, name, call) => {
    const builtin = /require\("(?:node:)?([a-z_/]+)"\)/.exec(call)[1];
    if (!isBuiltin(builtin) || new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\.default\\b`).test(code)) return whole;
    return `${name}=${call}`;
  });
}

// esbuild's charset: 'ascii' leaves regular expression literals as written (e.g. /µs/), and one
// non-ASCII character makes V8 store the whole 1 MB source two bytes per character. \uXXXX means
// the same in strings, regular expressions and identifiers.
function asciiOnly(code) {
  return code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function rewriteBundle(code) {
  return asciiOnly(loadedAtFirstUse(nodeBuiltinsAsIs(code)));
}

module.exports = { LOADED_AT_FIRST_USE, asciiOnly, loadedAtFirstUse, nodeBuiltinsAsIs, rewriteBundle };
