import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DOCKER_TABWRITER, alignColumns, defaultHeader, isTableFormat, tableBody, tableHeaderRow,
} from '../../pkg/format/table';
import { parse } from '../../pkg/format/template-parser';
import { formatList } from '../../pkg/format/go-template';

const header = (src: string, headers?: Record<string, string>): string =>
  tableHeaderRow(parse(src, () => true), headers);

describe('isTableFormat / tableBody', () => {
  it('recognises the table prefix', () => {
    assert.equal(isTableFormat('table'), true);
    assert.equal(isTableFormat('table {{.ID}}'), true);
    assert.equal(isTableFormat('  table\t{{.ID}}'), true);
    assert.equal(isTableFormat('table{{.ID}}'), true);
    assert.equal(isTableFormat('{{.ID}}'), false);
    assert.equal(isTableFormat('tables {{.ID}}'), false);
    assert.equal(isTableFormat('json'), false);
  });

  it('strips the prefix and surrounding spaces', () => {
    assert.equal(tableBody('table {{.ID}}\t{{.Name}} ', []), '{{.ID}}\t{{.Name}}');
  });

  it('builds a body for a bare table from default fields', () => {
    assert.equal(tableBody('table', ['ID', 'Names', 'not-a-field']), '{{.ID}}\t{{.Names}}');
    assert.equal(tableBody('table', []), '');
  });
});

describe('headers', () => {
  it('derives headers from field names', () => {
    assert.equal(defaultHeader('ID'), 'ID');
    assert.equal(defaultHeader('RepoTags'), 'REPO TAGS');
    assert.equal(defaultHeader('CreatedSince'), 'CREATED SINCE');
    assert.equal(defaultHeader('ImageID'), 'IMAGE ID');
    assert.equal(defaultHeader('HTTPPort'), 'HTTP PORT');
    assert.equal(defaultHeader('names'), 'NAMES');
  });

  it('uses the caller header map (exact, then case-insensitive)', () => {
    const map = { ID: 'CONTAINER ID', names: 'NAMES' };
    assert.equal(header('{{.ID}}\t{{.Names}}\t{{.RepoTags}}', map), 'CONTAINER ID\tNAMES\tREPO TAGS');
  });

  it('keeps text and uses the first field of each action', () => {
    assert.equal(header('{{.ID}}: {{upper .Name}} ({{json .Labels}})'), 'ID: NAME (LABELS)');
    assert.equal(header('{{truncate .ID 12}}\t{{join .Names ","}}'), 'ID\tNAMES');
  });

  it('names nested fields by their full path, then their last part', () => {
    assert.equal(header('{{.Config.Image}}', { 'Config.Image': 'IMG' }), 'IMG');
    assert.equal(header('{{.Config.Image}}'), 'IMAGE');
    assert.equal(header('{{$.State.Status}}'), 'STATUS');
  });

  it('uses the pipeline field of if/range/with blocks, or their body', () => {
    assert.equal(header('{{range .Ports}}{{.}} {{end}}\t{{if .Running}}up{{end}}'), 'PORTS\tRUNNING');
    assert.equal(header('{{with $x := 1}}{{.Size}}{{end}}'), 'SIZE');
  });

  it('prints nothing for declarations, literals and comments', () => {
    assert.equal(header('{{$x := .A}}{{"lit"}}{{/* c */}}|{{.B}}'), '|B');
  });
});

describe('alignColumns (Go text/tabwriter)', () => {
  it('matches `docker images` layout: minwidth 10, padding 3', () => {
    const text = 'REPOSITORY\tTAG\tIMAGE ID\nbusybox\tlatest\tabc123\n';
    // REPOSITORY (10) + 3 padding = 13; TAG column max(6)+3 = 9 < minwidth 10.
    assert.equal(alignColumns(text), 'REPOSITORY   TAG       IMAGE ID\nbusybox      latest    abc123\n');
  });

  it('widens a column to its longest cell plus padding', () => {
    const text = 'NAME\tSTATUS\ndocker.io/library/alpine\tUp\n';
    // 24 characters + 3 padding = 27.
    assert.equal(alignColumns(text), `NAME${' '.repeat(23)}STATUS\ndocker.io/library/alpine${' '.repeat(3)}Up\n`);
  });

  it('never pads the last cell of a line and keeps the final newline as is', () => {
    assert.equal(alignColumns('a\tb'), 'a         b');
    assert.equal(alignColumns('a\tb\n'), 'a         b\n');
    assert.equal(alignColumns('no tabs\n'), 'no tabs\n');
    assert.equal(alignColumns(''), '');
  });

  it('counts characters, not UTF-16 units or bytes', () => {
    // 'é😀' is 2 characters; the column is 12 + 3 = 15 wide.
    assert.equal(alignColumns('é😀\tx\nabcdefghijkl\ty\n'), `é😀${' '.repeat(13)}x\nabcdefghijkl${' '.repeat(3)}y\n`);
  });

  it('uses the Docker settings by default', () => {
    assert.deepEqual(DOCKER_TABWRITER, { minWidth: 10, padding: 3, padChar: ' ' });
  });

  // Vectors from Go's src/text/tabwriter/tabwriter_test.go (those without flags).
  const goCases: [string, number, number, string, string, string][] = [
    ['2', 8, 1, '.', '\n\n\n', '\n\n\n'],
    ['3', 8, 1, '.', 'a\nb\nc', 'a\nb\nc'],
    ['4a', 8, 1, '.', '\t', ''],
    ['5', 8, 1, '.', '*\t*', '*.......*'],
    ['5b', 8, 1, '.', '*\t*\n', '*.......*\n'],
    ['5c', 8, 1, '.', '*\t*\t', '*.......*'],
    ['6', 8, 1, '.', '\t\n', '........\n'],
    ['7a', 8, 1, '.', 'a) foo', 'a) foo'],
    ['7b', 8, 1, ' ', 'b) foo\tbar', 'b) foo  bar'],
    ['7c', 8, 1, '.', 'c) foo\tbar\t', 'c) foo..bar'],
    ['7d', 8, 1, '.', 'd) foo\tbar\n', 'd) foo..bar\n'],
    ['7e', 8, 1, '.', 'e) foo\tbar\t\n', 'e) foo..bar.....\n'],
    ['8', 8, 1, '*', 'Hello, world!\n', 'Hello, world!\n'],
    ['9a', 1, 0, '.', '1\t2\t3\t4\n11\t222\t3333\t44444\n', '1.2..3...4\n11222333344444\n'],
    ['10a', 5, 0, '.', '1\t2\t3\t4\n', '1....2....3....4\n'],
    ['10b', 5, 0, '.', '1\t2\t3\t4\t\n', '1....2....3....4....\n'],
    ['11', 8, 1, '.', '本\tb\tc\naa\t本本本\tcccc\tddddd\naaa\tbbbb\n', '本.......b.......c\naa......本本本.....cccc....ddddd\naaa.....bbbb\n'],
    ['12b', 2, 0, ' ', 'a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n', 'a  b  c\naa bbbcccc\naaabbbb\n'],
    ['12c', 8, 1, '_', 'a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n', 'a_______b_______c\naa______bbb_____cccc\naaa_____bbbb\n'],
    [
      '13a', 4, 1, '-',
      '4444\t日本語\t22\t1\t333\n999999999\t22\n7\t22\n\t\t\t88888888\n\n666666\t666666\t666666\t4444\n1\t1\t999999999\t0000000000\n',
      '4444------日本語-22--1---333\n999999999-22\n7---------22\n------------------88888888\n\n666666-666666-666666----4444\n1------1------999999999-0000000000\n',
    ],
    [
      '13b', 4, 3, '.',
      '4444\t333\t22\t1\t333\n999999999\t22\n7\t22\n\t\t\t88888888\n\n666666\t666666\t666666\t4444\n1\t1\t999999999\t0000000000\n',
      '4444........333...22...1...333\n999999999...22\n7...........22\n....................88888888\n\n666666...666666...666666......4444\n1........1........999999999...0000000000\n',
    ],
    ['15a', 4, 0, '.', 'a\t\tb', 'a.......b'],
  ];
  for (const [name, minWidth, padding, padChar, src, want] of goCases) {
    it(`Go tabwriter case ${name}`, () => {
      assert.equal(alignColumns(src, { minWidth, padding, padChar }), want);
    });
  }
});

describe('formatList with table', () => {
  const images = [
    { Repository: 'busybox', Tag: 'latest', ID: 'a416a98b71e2', Size: '4.26MB' },
    { Repository: 'docker.io/library/alpine', Tag: '3.19', ID: 'f8c20f8bbcb6', Size: '7.38MB' },
  ];

  it('renders header and rows like `docker images`', () => {
    const out = formatList('table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}', images, { ID: 'IMAGE ID' });
    assert.equal(out, [
      'REPOSITORY                 TAG       IMAGE ID       SIZE',
      'busybox                    latest    a416a98b71e2   4.26MB',
      'docker.io/library/alpine   3.19      f8c20f8bbcb6   7.38MB',
      '',
    ].join('\n'));
  });

  it('accepts a literal backslash-t typed in a shell', () => {
    const out = formatList('table {{.Tag}}\\t{{.ID}}', images.slice(0, 1));
    assert.equal(out, 'TAG       ID\nlatest    a416a98b71e2\n');
  });

  it('keeps pad() columns aligned with tabs', () => {
    const out = formatList('table {{pad .Tag 1 1}}\t{{.ID}}', images.slice(0, 1));
    assert.equal(out, 'TAG        ID\n latest    a416a98b71e2\n');
  });

  it('returns nothing for a bare table with nothing to describe', () => {
    assert.equal(formatList('table', []), '');
  });
});
