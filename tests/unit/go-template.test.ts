import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  TemplateError, formatList, isTableFormat, parseTemplate, renderTemplate,
} from '../../pkg/format/go-template';

const r = renderTemplate;

/** Asserts that rendering throws a one-line TemplateError with exactly `message`. */
function assertError(src: string, data: unknown, message: string): void {
  assert.throws(() => r(src, data), (e: unknown) => {
    assert.ok(e instanceof TemplateError, `expected TemplateError, got ${String(e)}`);
    assert.equal(e.message, message);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

describe('text, actions, trim markers, comments', () => {
  it('copies text and evaluates actions', () => {
    assert.equal(r('hello {{.Name}}!', { Name: 'world' }), 'hello world!');
    assert.equal(r('no actions', null), 'no actions');
    assert.equal(r('', null), '');
  });

  it('trims whitespace with {{- and -}}', () => {
    assert.equal(r('a  \n {{- .X -}} \n\t b', { X: 1 }), 'a1b');
    assert.equal(r('a {{- .X}} b', { X: 1 }), 'a1 b');
    assert.equal(r('a {{.X -}} b', { X: 1 }), 'a 1b');
  });

  it('treats {{-3}} as a negative number, not a trim marker', () => {
    assert.equal(r('a {{-3}}', null), 'a -3');
  });

  it('drops comments, including trimmed ones', () => {
    assert.equal(r('a{{/* a comment */}}b', null), 'ab');
    assert.equal(r('a {{- /* c */ -}} b', null), 'ab');
    assert.equal(r('{{/* multi\nline */}}x', null), 'x');
  });

  it('allows newlines inside actions', () => {
    assert.equal(r('{{printf "%s-%s"\n  .A\n  .B}}', { A: 'a', B: 'b' }), 'a-b');
  });
});

describe('fields, dot, $ and variables', () => {
  const data = { Name: 'web', Config: { Image: 'nginx', Labels: { app: 'x' } }, Names: ['a', 'b'] };

  it('resolves fields and nested fields', () => {
    assert.equal(r('{{.Name}} {{.Config.Image}} {{.Config.Labels.app}}', data), 'web nginx x');
  });

  it('resolves . and $', () => {
    assert.equal(r('{{.}}', 'plain'), 'plain');
    assert.equal(r('{{with .Config}}{{.Image}} {{$.Name}}{{end}}', data), 'nginx web');
  });

  it('falls back to case-insensitive keys', () => {
    assert.equal(r('{{.ID}} {{.name}}', { Id: 'abc', Name: 'n' }), 'abc n');
  });

  it('prefers an exact key over a case-insensitive one', () => {
    assert.equal(r('{{.id}}', { ID: 'upper', id: 'lower' }), 'lower');
  });

  it('prints <no value> for a missing key and for fields of missing values', () => {
    assert.equal(r('{{.Missing}}', data), '<no value>');
    assert.equal(r('{{.Missing.Deeper}}', data), '<no value>');
    assert.equal(r('{{.Config.Nope}}', data), '<no value>');
  });

  it('prints <nil> for an explicit null, and fields of null are missing', () => {
    assert.equal(r('{{.N}}', { N: null }), '<nil>');
    assert.equal(r('{{.N.X}}', { N: null }), '<no value>');
  });

  it('declares and assigns variables', () => {
    assert.equal(r('{{$x := .Name}}{{$x}}', data), 'web');
    assert.equal(r('{{$x := 1}}{{$x = 2}}{{$x}}', null), '2');
    assert.equal(r('{{$c := .Config}}{{$c.Image}}', data), 'nginx');
    // Assignment inside a block updates the outer variable, as in Go.
    assert.equal(r('{{$x := 0}}{{range .}}{{$x = .}}{{end}}{{$x}}', [1, 2, 3]), '3');
  });

  it('scopes variables to their block', () => {
    assert.equal(r('{{if $x := .Name}}{{$x}}{{end}}', data), 'web');
    assert.throws(() => parseTemplate('{{if true}}{{$x := 1}}{{end}}{{$x}}'), /undefined variable "\$x"/);
  });

  it('calls function-valued fields like Go methods', () => {
    const item = { labels: { a: '1' }, Label(this: { labels: Record<string, string> }, k: string) { return this.labels[k]; } };
    assert.equal(r('{{.Label "a"}}', item), '1');
    assert.equal(r('{{"a" | .Label}}', item), '1');
    assert.equal(r('{{.Size}}', { Size: () => 42 }), '42');
  });

  it('chains fields on parenthesised results and variables', () => {
    assert.equal(r('{{(index .A 0).Name}}', { A: [{ Name: 'n' }] }), 'n');
    assert.equal(r('{{$.Config.Image}}', data), 'nginx');
  });

  it('reads getters of class instances', () => {
    class Box { get Size(): number { return 7; } }
    assert.equal(r('{{.Size}}', new Box()), '7');
  });

  it('does not expose Object.prototype members', () => {
    assert.equal(r('{{.toString}}', {}), '<no value>');
  });
});

describe('if / else if / else', () => {
  const t = '{{if .A}}a{{else if .B}}b{{else}}c{{end}}';
  it('picks the first true branch', () => {
    assert.equal(r(t, { A: 1, B: 1 }), 'a');
    assert.equal(r(t, { B: 'x' }), 'b');
    assert.equal(r(t, {}), 'c');
  });

  it('uses Go truthiness', () => {
    const truth = (v: unknown): string => r('{{if .}}T{{else}}F{{end}}', v);
    for (const v of [false, 0, '', null, undefined, [], {}, new Map()]) assert.equal(truth(v), 'F', String(v));
    for (const v of [true, 1, -1, 'x', [0], { a: 0 }, new Date(0)]) assert.equal(truth(v), 'T', String(v));
  });
});

describe('range', () => {
  it('ranges over arrays with dot, one or two variables', () => {
    assert.equal(r('{{range .}}[{{.}}]{{end}}', ['a', 'b']), '[a][b]');
    assert.equal(r('{{range $e := .}}{{$e}};{{end}}', ['a', 'b']), 'a;b;');
    assert.equal(r('{{range $i, $e := .}}{{$i}}={{$e}} {{end}}', ['a', 'b']), '0=a 1=b ');
  });

  it('ranges over objects and Maps in sorted key order', () => {
    assert.equal(r('{{range $k, $v := .}}{{$k}}={{$v}};{{end}}', { b: 1, a: 2, c: 3 }), 'a=2;b=1;c=3;');
    assert.equal(r('{{range .}}{{.}}{{end}}', new Map([['z', 1], ['y', 2]])), '21');
  });

  it('ranges over an integer (Go 1.22)', () => {
    assert.equal(r('{{range 3}}{{.}}{{end}}', null), '012');
  });

  it('runs the else branch for empty or missing collections', () => {
    const t = '{{range .X}}x{{else}}empty{{end}}';
    assert.equal(r(t, { X: [] }), 'empty');
    assert.equal(r(t, { X: {} }), 'empty');
    assert.equal(r(t, {}), 'empty');
    assert.equal(r(t, { X: null }), 'empty');
  });

  it('supports break and continue', () => {
    const t = '{{range .}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}';
    assert.equal(r(t, [1, 2, 3, 4, 5]), '13');
  });

  it('breaks only the innermost range', () => {
    const t = '{{range .}}{{range .}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}};{{end}}';
    assert.equal(r(t, [[1, 2, 3], [4]]), '1;4;');
  });

  it('rejects strings and over-declared integer ranges', () => {
    assertError('{{range .}}{{end}}', 's', 'template: :1:8: executing "" at <.>: range can\'t iterate over s');
    assertError('{{range $i, $e := 3}}{{end}}', null, 'template: :1:8: executing "" at <$i, $e := 3>: can\'t use 3 to iterate over more than one variable');
  });
});

describe('with', () => {
  it('sets dot when true and falls back to else', () => {
    const t = '{{with .A}}{{.X}}{{else}}none{{end}}';
    assert.equal(r(t, { A: { X: 'x' } }), 'x');
    assert.equal(r(t, { A: {} }), 'none');
    assert.equal(r(t, {}), 'none');
  });

  it('supports else with (Go 1.23)', () => {
    assert.equal(r('{{with .A}}a{{else with .B}}{{.}}{{else}}c{{end}}', { B: 'b' }), 'b');
  });
});

describe('pipes and literals', () => {
  it('passes the previous result as the last argument', () => {
    assert.equal(r('{{join .Names ", " | upper}}', { Names: ['a', 'b'] }), 'A, B');
    assert.equal(r('{{"x" | printf "%s-%s" "a"}}', null), 'a-x');
    assert.equal(r('{{.A | len | printf "%03d"}}', { A: [1, 2] }), '002');
  });

  it('evaluates parenthesised pipelines', () => {
    assert.equal(r('{{printf "%s/%s" (upper .A) (.B | lower)}}', { A: 'a', B: 'B' }), 'A/b');
  });

  it('parses string, raw string, char, number, bool and nil literals', () => {
    assert.equal(r('{{"a\\tb\\u00e9\\x41"}}', null), 'a\tbéA');
    assert.equal(r('{{`raw\\n{{x}}`}}', null), 'raw\\n{{x}}');
    assert.equal(r("{{'a'}} {{'\\n'}}", null), '97 10');
    assert.equal(r('{{42}} {{-7}} {{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}} {{1.5}} {{.5}} {{2e3}}', null), '42 -7 31 15 15 5 1000 1.5 0.5 2000');
    assert.equal(r('{{true}} {{false}}', null), 'true false');
    assert.equal(r('{{print nil}}', null), '<nil>');
  });
});

describe('printing values like Go', () => {
  it('prints numbers', () => {
    assert.equal(r('{{.}}', 42), '42');
    assert.equal(r('{{.}}', -0), '0');
    assert.equal(r('{{.}}', 1.5), '1.5');
    assert.equal(r('{{.}}', 0.1), '0.1');
    assert.equal(r('{{.}}', 1 / 3), '0.3333333333333333');
    assert.equal(r('{{.}}', 1234567.5), '1.2345675e+06');
    assert.equal(r('{{.}}', 123456.5), '123456.5');
    assert.equal(r('{{.}}', 0.0001), '0.0001');
    assert.equal(r('{{.}}', 0.00001), '1e-05');
    assert.equal(r('{{.}}', 1e300), '1e+300');
    assert.equal(r('{{.}}', Infinity), '+Inf');
    assert.equal(r('{{.}}', NaN), 'NaN');
    assert.equal(r('{{.}}', 12n), '12');
  });

  it('prints booleans, slices, maps and dates', () => {
    assert.equal(r('{{.}}', true), 'true');
    assert.equal(r('{{.}}', ['a', 'b', 'c']), '[a b c]');
    assert.equal(r('{{.}}', [1, 'a', { b: 2, a: [true] }, null]), '[1 a map[a:[true] b:2] <nil>]');
    assert.equal(r('{{.}}', { z: 1, a: 'x' }), 'map[a:x z:1]');
    assert.equal(r('{{.}}', {}), 'map[]');
    assert.equal(r('{{.}}', []), '[]');
    assert.equal(r('{{.}}', new Date(Date.UTC(2024, 0, 2, 3, 4, 5))), '2024-01-02T03:04:05.000Z');
  });

  it('uses a custom toString like a Go Stringer', () => {
    class Port { toString(): string { return '80/tcp'; } }
    assert.equal(r('{{.}}', new Port()), '80/tcp');
  });
});

describe('Go builtin functions', () => {
  it('and / or return the deciding operand and short-circuit', () => {
    assert.equal(r('{{and 1 0 2}} {{and 1 2}} {{or 0 "" "x"}} {{or 0 ""}}', null), '0 2 x ');
    // The failing index is never evaluated.
    assert.equal(r('{{or 1 (index .A 9)}} {{and 0 (index .A 9)}}', { A: [] }), '1 0');
  });

  it('not', () => {
    assert.equal(r('{{not 0}} {{not "x"}} {{not .Missing}}', {}), 'true false true');
  });

  it('len counts bytes of strings, elements and keys', () => {
    assert.equal(r('{{len "héllo"}} {{len .A}} {{len .M}}', { A: [1, 2, 3], M: { a: 1 } }), '6 3 1');
  });

  it('index (multi-level) and slice', () => {
    const d = { A: [[1, 2], [3]], M: { k: ['z'] }, S: 'abcdef' };
    assert.equal(r('{{index .A 0 1}} {{index .M "k" 0}} {{index .M "missing"}} {{index .S 1}}', d), '2 z <no value> 98');
    assert.equal(r('{{slice .S 1 3}} {{slice .S 2}} {{slice .A 1}} {{slice .A}}', d), 'bc cdef [[3]] [[1 2] [3]]');
    assertError('{{index .A 5}}', d, 'template: :1:2: executing "" at <index .A 5>: error calling index: index out of range: 5');
    assertError('{{slice .S 3 1}}', d, 'template: :1:2: executing "" at <slice .S 3 1>: error calling slice: invalid slice index: 3 > 1');
    assertError('{{index .N 0}}', { N: null }, 'template: :1:2: executing "" at <index .N 0>: error calling index: index of untyped nil');
  });

  it('print and println', () => {
    assert.equal(r('{{print 1 2 "a" "b" 3}}', null), '1 2ab3');
    assert.equal(r('{{println 1 "a"}}', null), '1 a\n');
  });

  it('eq / ne / lt / le / gt / ge', () => {
    assert.equal(r('{{eq 1 1}} {{eq 1 2 3 1}} {{eq "a" "b"}} {{eq .Missing nil}} {{eq .X "a"}}', { X: null }), 'true true false true false');
    assert.equal(r('{{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}', null), 'true true true true false');
    assertError('{{eq "a" 1}}', null, 'template: :1:2: executing "" at <eq "a" 1>: error calling eq: incompatible types for comparison');
    assertError('{{lt true false}}', null, 'template: :1:2: executing "" at <lt true false>: error calling lt: invalid type for comparison');
    assertError('{{eq .A .A}}', { A: [1] }, 'template: :1:2: executing "" at <eq .A .A>: error calling eq: non-comparable type [1]: []interface {}');
  });

  it('html, js, urlquery', () => {
    assert.equal(r(`{{html "<a href='x'>&\\""}}`, null), '&lt;a href=&#39;x&#39;&gt;&amp;&#34;');
    assert.equal(r(`{{js "a'b\\"<>&=\\\\\\n"}}`, null), "a\\'b\\\"\\u003C\\u003E\\u0026\\u003D\\\\\\u000A");
    assert.equal(r('{{urlquery "a b&c/é"}}', null), 'a+b%26c%2F%C3%A9');
    assert.equal(r('{{html 1 2}}', null), '1 2');
  });
});

describe('printf', () => {
  const p = (fmt: string, ...args: string[]): string => r(`{{printf ${JSON.stringify(fmt)} ${args.join(' ')}}}`, { L: [1, 2], M: { b: 2, a: 1 } });

  it('formats strings', () => {
    assert.equal(p('%s|%5s|%-5s|%.2s|%v', '"ab"', '"ab"', '"ab"', '"abc"', '"x"'), 'ab|   ab|ab   |ab|x');
    assert.equal(p('%q %+q %#q', '"a\\tb\\""', '"é"', '"ab"'), '"a\\tb\\"" "\\u00e9" `ab`');
    assert.equal(p('%x %X % x', '"hi"', '"hi"', '"hi"'), '6869 6869 68 69');
  });

  it('formats integers', () => {
    assert.equal(p('%d|%5d|%-5d|%05d|%+d|% d', '42', '42', '42', '-42', '5', '5'), '42|   42|42   |-0042|+5| 5');
    assert.equal(p('%x %X %#x %o %b %c %U %q', '-255', '255', '255', '8', '5', '65', '65', '65'), "-ff FF 0xff 10 101 A U+0041 'A'");
    assert.equal(p('%v %t', '7', 'true'), '7 true');
  });

  it('formats floats with Go rounding (half to even on exact ties)', () => {
    assert.equal(p('%f|%.2f|%8.3f|%-8.3f|%06.2f', '3.14159', '3.14159', '3.14159', '2.5', '-3.14159'), '3.141590|3.14|   3.142|2.500   |-03.14');
    assert.equal(p('%.0f %.0f %.2f %.1f %.2f', '2.5', '3.5', '0.125', '0.05', '1.005'), '2 4 0.12 0.1 1.00');
    assert.equal(p('%e %E %.0e', '123456.789', '0.000123', '2.5'), '1.234568e+05 1.230000E-04 2e+00');
    assert.equal(p('%g %g %.3g %.3g %v', '0.000012345', '1e-7', '9.9951', '1.0', '1.5'), '1.2345e-05 1e-07 10 1 1.5');
    assert.equal(p('%.1f', '9.96'), '10.0');
  });

  it('formats slices and maps element-wise', () => {
    assert.equal(p('%v %d %v', '.L', '.L', '.M'), '[1 2] [1 2] map[a:1 b:2]');
  });

  it('handles %%, %T, bad verbs, missing and extra operands like Go', () => {
    assert.equal(p('100%%'), '100%');
    assert.equal(p('%T %T %T %T %T %T', '1', '1.5', '"s"', 'true', '.L', '.M'), 'int float64 string bool []interface {} map[string]interface {}');
    assert.equal(p('%d', '"abc"'), '%!d(string=abc)');
    assert.equal(p('%s %d', '"a"'), 'a %!d(MISSING)');
    assert.equal(p('%d', '1', '"x"'), '1%!(EXTRA string=x)');
    assert.equal(p('%s|%v', 'nil', 'nil'), '%!s(<nil>)|<nil>');
    assert.equal(p('%d', '1.5'), '%!d(float64=1.5)');
  });

  it('accepts numbers for %s leniently', () => {
    assert.equal(p('%s %s', '12', 'true'), '12 true');
  });
});

describe('Docker / Podman functions', () => {
  it('json is compact, keeps key order and does not escape HTML', () => {
    assert.equal(r('{{json .}}', { b: '<x&y>', a: [1, 2], n: null }), '{"b":"<x&y>","a":[1,2],"n":null}');
    assert.equal(r('{{json .Missing}}', {}), 'null');
    assert.equal(r('{{json .}}', 'a\u2028b'), '"a\\u2028b"');
    assert.equal(r('{{json .}}', new Map([['k', 1]])), '{"k":1}');
  });

  it('join and split', () => {
    assert.equal(r('{{join .Args ","}}', { Args: ['a', 'b', 'c'] }), 'a,b,c');
    assert.equal(r('{{join .Args ","}}', { Args: [] }), '');
    assert.equal(r('{{split "a,b,c" ","}} {{len (split "a,b" ",")}} {{index (split "x:y" ":") 1}}', null), '[a b c] 2 y');
  });

  it('lower, upper, title', () => {
    assert.equal(r('{{lower "AbC"}} {{upper "AbC"}} {{title "hello wide-world_x"}}', null), 'abc ABC Hello Wide-World_x');
  });

  it('truncate and pad', () => {
    assert.equal(r('{{truncate .ID 12}}', { ID: 'f0e1d2c3b4a5968778695a4b3c2d1e0f' }), 'f0e1d2c3b4a5');
    assert.equal(r('{{truncate "abc" 10}}', null), 'abc');
    assert.equal(r('[{{pad .Name 2 3}}] [{{pad "" 2 3}}]', { Name: 'web' }), '[  web   ] []');
  });

  it('replace replaces all occurrences, or the first n', () => {
    assert.equal(r('{{replace "a-b-c" "-" "+"}} {{replace "aaa" "a" "b" 2}}', null), 'a+b+c bba');
  });

  it('string functions reject non-string values with Go wording', () => {
    assertError('{{upper .L}}', { L: [1] }, 'template: :1:2: executing "" at <upper .L>: error calling upper: wrong type for value; expected string; got []interface {}');
    assertError('{{upper .Missing}}', {}, 'template: :1:2: executing "" at <upper .Missing>: error calling upper: invalid value; expected string');
  });
});

describe('errors', () => {
  const cases: [string, string][] = [
    ['{{.Foo', 'template: :1: unclosed action'],
    ['a\n{{.Foo', 'template: :2: unclosed action'],
    ['{{foo}}', 'template: :1: function "foo" not defined'],
    ['{{if .X}}', 'template: :1: unexpected EOF'],
    ['{{range .}}', 'template: :1: unexpected EOF'],
    ['{{end}}', 'template: :1: unexpected {{end}}'],
    ['{{else}}', 'template: :1: unexpected {{else}}'],
    ['{{if 1}}{{else}}{{else}}{{end}}', 'template: :1: expected end; found {{else}}'],
    ['{{break}}', 'template: :1: {{break}} outside {{range}}'],
    ['{{range .}}{{else}}{{continue}}{{end}}', 'template: :1: {{continue}} outside {{range}}'],
    ['{{$x}}', 'template: :1: undefined variable "$x"'],
    ['{{$x = 1}}', 'template: :1: undefined variable "$x"'],
    ['{{)}}', 'template: :1: unexpected right paren'],
    ['{{(1}}', 'template: :1: unclosed left paren'],
    ['{{}}', 'template: :1: missing value for command'],
    ['{{1 | 2}}', 'template: :1: non executable command in pipeline stage 2'],
    ['{{/* x', 'template: :1: unclosed comment'],
    ['{{/* x */ .}}', 'template: :1: comment ends before closing delimiter'],
    ['{{@}}', "template: :1: bad character U+0040 '@'"],
    ['{{"abc}}', 'template: :1: unterminated quoted string'],
    ['{{`abc}}', 'template: :1: unterminated raw quoted string'],
    ['{{"\\q"}}', 'template: :1: invalid syntax'],
    ['{{3x}}', 'template: :1: bad number syntax: "3x"'],
    ['{{"a".B}}', 'template: :1: unexpected . after term "\\"a\\""'],
    ['{{range .}}{{else if .X}}{{end}}', 'template: :1: unexpected <if> in input'],
    ['{{define "x"}}{{end}}', 'template: :1: {{define}} is not supported'],
  ];
  for (const [src, message] of cases) {
    it(`parse error for ${JSON.stringify(src)}`, () => {
      assert.throws(() => parseTemplate(src), (e: unknown) => e instanceof TemplateError && e.message === message);
    });
  }

  it('reports execution errors with line, column and node like Go', () => {
    assertError('{{.Foo.Bar}}', { Foo: 's' }, 'template: :1:6: executing "" at <.Foo.Bar>: can\'t evaluate field Bar in type string');
    assertError('x\n  {{.A.B}}', { A: [1] }, 'template: :2:6: executing "" at <.A.B>: can\'t evaluate field B in type []interface {}');
    assertError('{{len 3}}', null, 'template: :1:2: executing "" at <len 3>: error calling len: len of type int');
    assertError('{{upper 1 2}}', null, 'template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 2');
    assertError('{{and}}', null, 'template: :1:2: executing "" at <and>: wrong number of args for and: want at least 1 got 0');
    assertError('{{"a" 1}}', null, 'template: :1:2: executing "" at <"a">: can\'t give argument to non-function "a"');
    assertError('{{.A | .B}}', { B: 1 }, 'template: :1:7: executing "" at <.B>: B is not a method but has arguments');
    assertError('{{nil}}', null, 'template: :1:2: executing "" at <nil>: nil is not a command');
    assertError('{{.F}}', { F: () => { throw new Error('boom\nsecond line'); } }, 'template: :1:2: executing "" at <.F>: error calling F: boom\\nsecond line');
  });

  it('TemplateError is an Error', () => {
    assert.throws(() => parseTemplate('{{'), Error);
  });
});

describe('parseTemplate', () => {
  it('returns a reusable template', () => {
    const t = parseTemplate('{{.N}};');
    assert.equal(t.execute({ N: 1 }) + t.execute({ N: 2 }), '1;2;');
  });

  it('does not leak variables between executions', () => {
    const t = parseTemplate('{{$x := .}}{{$x}}');
    assert.equal(t.execute('a'), 'a');
    assert.equal(t.execute('b'), 'b');
  });
});

describe('formatList', () => {
  const items = [{ ID: 'abc', Names: ['web', 'w2'] }, { ID: 'def', Names: ['db'] }];

  it('renders one line per item, adding a newline only when missing', () => {
    assert.equal(formatList('{{.ID}}', items), 'abc\ndef\n');
    assert.equal(formatList('{{.ID}}\n', items), 'abc\ndef\n');
    assert.equal(formatList('{{json .Names}}', items), '["web","w2"]\n["db"]\n');
    assert.equal(formatList('{{.ID}}', []), '');
  });

  it('turns literal \\t and \\n typed in a shell into real ones, as Docker does', () => {
    assert.equal(formatList('{{.ID}}\\t{{join .Names ","}}', items), 'abc\tweb,w2\ndef\tdb\n');
  });

  it('prints `json` as a 4-space indented JSON array', () => {
    assert.equal(formatList('json', items), '[\n    {\n        "ID": "abc",\n        "Names": [\n            "web",\n            "w2"\n        ]\n    },\n    {\n        "ID": "def",\n        "Names": [\n            "db"\n        ]\n    }\n]\n');
    assert.equal(formatList(' json ', []), '[]\n');
  });

  it('renders tables with headers and aligned columns', () => {
    const out = formatList('table {{.ID}}\t{{join .Names ","}}', items, { ID: 'CONTAINER ID' });
    assert.equal(out, 'CONTAINER ID   NAMES\nabc            web,w2\ndef            db\n');
  });

  it('prints only the header for an empty table', () => {
    assert.equal(formatList('table {{.ID}}\t{{.Names}}', [], { ID: 'CONTAINER ID' }), 'CONTAINER ID   NAMES\n');
  });

  it('expands a bare `table` from the header map', () => {
    assert.equal(formatList('table', items, { ID: 'CONTAINER ID', Names: 'NAMES' }), 'CONTAINER ID   NAMES\nabc            [web w2]\ndef            [db]\n');
  });

  it('propagates template errors', () => {
    assert.throws(() => formatList('{{nope}}', items), TemplateError);
  });

  it('re-exports isTableFormat', () => {
    assert.equal(isTableFormat('table {{.ID}}'), true);
    assert.equal(isTableFormat('{{.ID}}'), false);
  });
});
