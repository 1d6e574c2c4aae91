#!/usr/bin/env node
// build_collection.js - writes uvhttpd.postman_collection.json (Postman collection format v2.1)
// from the request table below. The collection is committed; edit this file, not the JSON, and
// regenerate it:
//
//   node tests/postman/build_collection.js            # rewrites the collection
//   node tests/postman/build_collection.js --check    # exit 1 when the committed one is stale
//
// run_newman.sh runs the --check first, so the JSON cannot drift from this table. Sizes and
// SHA-256 digests of the served files are taken from resources/ and tests/fixtures/docroot/ (the
// document root tests/make_docroot.py builds), so the collection's byte-for-byte checks follow
// the files. Needs only Node.js.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const SRC = path.resolve(__dirname, '..', '..');
const OUT = path.join(__dirname, 'uvhttpd.postman_collection.json');
const ROOTS = [path.join(SRC, 'tests', 'fixtures', 'docroot'), path.join(SRC, 'resources')];

function file(rel) {
  for (const root of ROOTS) {
    const p = path.join(root, rel);
    if (fs.existsSync(p)) return fs.readFileSync(p);
  }
  throw new Error(`no ${rel} in resources/ or tests/fixtures/docroot/`);
}
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const J = JSON.stringify;

// ---- test-script snippets (each one pm.test) -------------------------------------------------
const t = {
  status: (code) => `pm.test(${J(`status ${code}`)}, () => pm.response.to.have.status(${code}));`,
  header: (name, value) =>
    `pm.test(${J(`${name}: ${value}`)}, () => pm.expect(pm.response.headers.get(${J(name)})).to.eql(${J(value)}));`,
  headerMatch: (name, re) =>
    `pm.test(${J(`${name} matches ${re}`)}, () => pm.expect(pm.response.headers.get(${J(name)})).to.match(${re}));`,
  noHeader: (name) =>
    `pm.test(${J(`no ${name}`)}, () => pm.expect(pm.response.headers.has(${J(name)})).to.be.false);`,
  emptyBody: () =>
    `pm.test("empty body", () => pm.expect(pm.response.stream ? pm.response.stream.length : 0).to.eql(0));`,
  // The body is exactly BUF: its length and its SHA-256 (crypto-js, built into Postman's sandbox).
  bytes: (label, buf) =>
    `pm.test(${J(`body is ${label} byte for byte (${buf.length} bytes)`)}, () => {\n` +
    `  const body = pm.response.stream;\n` +
    `  pm.expect(body.length).to.eql(${buf.length});\n` +
    `  const CryptoJS = require("crypto-js");\n` +
    `  pm.expect(CryptoJS.SHA256(CryptoJS.lib.WordArray.create(body)).toString()).to.eql(${J(sha256(buf))});\n` +
    `});`,
  contentLength: (n) => `pm.test(${J(`Content-Length: ${n}`)}, () => pm.expect(pm.response.headers.get("Content-Length")).to.eql(${J(String(n))}));`,
  bodyHas: (text) =>
    `pm.test(${J(`body contains ${text}`)}, () => pm.expect(pm.response.text()).to.include(${J(text)}));`,
  bodyIs: (text) => `pm.test("body is exactly the expected text", () => pm.expect(pm.response.text()).to.eql(${J(text)}));`,
  errorPage: (code, reason) => [
    t.header('Content-Type', 'text/html; charset=utf-8'),
    t.bodyHas(`<title>${code} ${reason}</title>`),
  ],
  keepAlive: () => [
    t.header('Connection', 'keep-alive'),
    t.headerMatch('Keep-Alive', '/^timeout=30, max=\\d+$/'),
  ],
  close: () => [t.header('Connection', 'close'), t.noHeader('Keep-Alive')],
  validators: () => [
    t.headerMatch('ETag', '/^"[0-9a-f]+\\.[0-9a-f]+-[0-9a-f]+"$/'),
    t.headerMatch('Last-Modified', '/^[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT$/'),
    t.header('Accept-Ranges', 'bytes'),
  ],
};

// A static file served whole: type, length, validators, disposition, bytes.
function served(rel, { head = false, name = path.basename(rel) } = {}) {
  const buf = file(rel);
  const ext = path.extname(rel).toLowerCase();
  const html = ext === '.html' || ext === '.htm';
  const json = ext === '.json';
  const type = html ? 'text/html; charset=utf-8' : json ? 'application/json' : 'application/octet-stream';
  const lines = [t.status(200), t.header('Content-Type', type), t.contentLength(buf.length), ...t.validators()];
  if (html || json) lines.push(t.noHeader('Content-Disposition'));
  else lines.push(t.header('Content-Disposition', `attachment; filename="${name}"`));
  lines.push(...t.keepAlive());
  lines.push(head ? t.emptyBody() : t.bytes(rel, buf));
  return lines;
}

// ---- the requests ----------------------------------------------------------------------------
// Fields: name, method (GET), path (after {{baseUrl}}, sent as written), headers ([[k, v]]),
// body (raw string), pre (pre-request script lines), tests (lines), follow (redirects; false).
const folders = [];
function folder(name, description, items) {
  folders.push({ name, description, items });
}

const sample = file('sample.txt');
const large = file('large_photo1.png');

folder('Static files', 'GET and HEAD of pages: index files, types, redirects of directories.', [
  { name: 'GET / (index.html)', path: '/', tests: served('index.html') },
  { name: 'GET /index.html', path: '/index.html', tests: served('index.html') },
  { name: 'GET /about.html', path: '/about.html', tests: served('about.html') },
  { name: 'GET /contact.html', path: '/contact.html', tests: served('contact.html') },
  { name: 'HEAD /about.html: the same head, no body', method: 'HEAD', path: '/about.html',
    tests: served('about.html', { head: true }) },
  { name: 'GET /index.html?lang=en: the query is ignored', path: '/index.html?lang=en', tests: served('index.html') },
  { name: 'GET /nested/ (nested/index.html)', path: '/nested/', tests: served('nested/index.html') },
  { name: 'GET /nested/page.html', path: '/nested/page.html', tests: served('nested/page.html') },
  { name: 'GET /UPPER.HTML: extensions match in any case', path: '/UPPER.HTML', tests: served('UPPER.HTML') },
  { name: 'GET /data.json: application/json, inline', path: '/data.json', tests: served('data.json') },
  { name: 'GET /nested: 301 to /nested/', path: '/nested', tests: [
    t.status(301), t.header('Location', '/nested/'), ...t.keepAlive()] },
  { name: 'GET /nested?x=1: 301 keeps the query', path: '/nested?x=1', tests: [
    t.status(301), t.header('Location', '/nested/?x=1')] },
  { name: 'GET /uploads: 301 to /uploads/', path: '/uploads', tests: [t.status(301), t.header('Location', '/uploads/')] },
  { name: 'GET /uploads/: no index.html, no listing (404)', path: '/uploads/', tests: [
    t.status(404), ...t.errorPage(404, 'Not Found')] },
  { name: 'GET /noindex/: 404', path: '/noindex/', tests: [t.status(404), ...t.errorPage(404, 'Not Found')] },
]);

folder('Downloads', 'Images and text are downloads: application/octet-stream, Content-Disposition: attachment, the original bytes.', [
  ...['logo.png', 'banner.png', 'photo.jpg', 'photo1.jpg', 'sample.txt', 'notes.txt', 'large_photo1.png'].map(
    (f) => ({ name: `GET /${f}`, path: `/${f}`, tests: served(f) })),
  { name: 'HEAD /large_photo1.png', method: 'HEAD', path: '/large_photo1.png',
    tests: served('large_photo1.png', { head: true }) },
  { name: 'GET /with%20space.txt', path: '/with%20space.txt', tests: served('with space.txt') },
  { name: 'GET /100%25.txt', path: '/100%25.txt', tests: served('100%.txt') },
  { name: 'GET /empty.txt: an empty file', path: '/empty.txt', tests: served('empty.txt') },
  { name: 'GET /caf%C3%A9.txt: non-ASCII name, filename*', path: '/caf%C3%A9.txt', tests: [
    t.status(200), t.header('Content-Type', 'application/octet-stream'),
    t.header('Content-Disposition', "attachment; filename=\"caf__.txt\"; filename*=UTF-8''caf%C3%A9.txt"),
    t.contentLength(file('café.txt').length), t.bytes('café.txt', file('café.txt'))] },
]);

// Uploads: each stored document is fetched back by the filepath of the reply and compared.
const stored = (label) => [
  t.status(201),
  t.header('Content-Type', 'application/json'),
  t.headerMatch('Location', '/^\\/uploads\\/upload_\\d{8}_\\d{6}_[0-9a-f]{6}\\.json$/'),
  ...t.keepAlive(),
  `pm.test("reply: status success, message, filepath = Location", () => {\n` +
    `  const reply = pm.response.json();\n` +
    `  pm.expect(reply.status).to.eql("success");\n` +
    `  pm.expect(reply.message).to.eql("File created successfully");\n` +
    `  pm.expect(reply.filepath).to.eql(pm.response.headers.get("Location"));\n` +
    `  pm.collectionVariables.set("filepath", reply.filepath);\n` +
    `});`,
  // the body as sent (variables resolved), for the GET that follows
  `pm.collectionVariables.set("uploaded", pm.variables.replaceIn(pm.request.body.raw));`,
];
const fetchBack = (label) => ({
  name: `GET {{filepath}} of ${label}: the same bytes`,
  path: '{{filepath}}',
  tests: [
    t.status(200), t.header('Content-Type', 'application/json'), t.noHeader('Content-Disposition'),
    `pm.test("Content-Length is the uploaded size", () => pm.expect(Number(pm.response.headers.get("Content-Length"))).to.eql(Buffer.byteLength(pm.collectionVariables.get("uploaded"))));`,
    `pm.test("body is the uploaded document byte for byte", () => pm.expect(pm.response.stream.equals(Buffer.from(pm.collectionVariables.get("uploaded")))).to.be.true);`,
  ],
});
const upload = (name, body, extra = {}) => ({
  name, method: 'POST', path: '/upload', headers: [['Content-Type', 'application/json']], body,
  tests: stored(name), ...extra,
});
const refused = (code, reason, more = []) => [t.status(code), ...more];

folder('Uploads', 'POST /upload: stored JSON documents, fetched back and compared; refused uploads.', [
  upload('POST /upload: an object', '{"name": "example", "values": [1, 2, 3]}'),
  fetchBack('the object'),
  upload('POST /upload: an array', '[1, 2, 3]'),
  fetchBack('the array'),
  upload('POST /upload: a string at the top level', '"just a string"'),
  fetchBack('the string'),
  upload('POST /upload: UTF-8 text', '{"text": "café ✓ 日本語", "emoji": "\\ud83d\\ude00"}'),
  fetchBack('the UTF-8 document'),
  upload('POST /upload: Content-Type Application/JSON; charset=utf-8', '{"case": "insensitive"}',
    { headers: [['Content-Type', 'Application/JSON; charset=utf-8']] }),
  fetchBack('the charset document'),
  upload('POST /upload?tag=1: the query is ignored', '{"query": "ignored"}', { path: '/upload?tag=1' }),
  fetchBack('the query document'),
  upload('POST /upload with Expect: 100-continue', '{"expect": "100-continue"}',
    { headers: [['Content-Type', 'application/json'], ['Expect', '100-continue']] }),
  fetchBack('the 100-continue document'),
  upload('POST /upload: 200 KB generated array', '{{bigDocument}}', {
    pre: ['const a = []; for (let i = 0; i < 40000; i++) a.push(i % 1000);',
      'pm.collectionVariables.set("bigDocument", JSON.stringify({ numbers: a }));'] }),
  fetchBack('the 200 KB document'),
  { name: 'POST /upload: invalid JSON (400, JSON reason)', method: 'POST', path: '/upload',
    headers: [['Content-Type', 'application/json']], body: '{"a": 1,}',
    tests: refused(400, 'Bad Request', [t.header('Content-Type', 'application/json'), ...t.keepAlive(),
      t.bodyIs('{"status":"error","message":"Invalid JSON: string or \'}\' expected near \'}\' at line 1, column 9"}')]) },
  { name: 'POST /upload: empty body (400)', method: 'POST', path: '/upload',
    headers: [['Content-Type', 'application/json']], body: '',
    tests: refused(400, 'Bad Request', [t.header('Content-Type', 'application/json'),
      `pm.test("reply: status error", () => pm.expect(pm.response.json().status).to.eql("error"));`]) },
  { name: 'POST /upload: duplicate key (400)', method: 'POST', path: '/upload',
    headers: [['Content-Type', 'application/json']], body: '{"a": 1, "a": 2}',
    tests: refused(400, 'Bad Request', [t.header('Content-Type', 'application/json'),
      `pm.test("reply names the duplicate key", () => pm.expect(pm.response.json().message).to.match(/^Invalid JSON: .*duplicate/));`]) },
  { name: 'POST /upload: \\u0000 in a string (400)', method: 'POST', path: '/upload',
    headers: [['Content-Type', 'application/json']], body: '{"a": "x\\u0000y"}',
    tests: refused(400, 'Bad Request', [t.header('Content-Type', 'application/json'),
      `pm.test("reply: status error", () => pm.expect(pm.response.json().status).to.eql("error"));`]) },
  { name: 'POST /upload: Content-Type text/plain (415)', method: 'POST', path: '/upload',
    headers: [['Content-Type', 'text/plain']], body: 'hello',
    tests: refused(415, 'Unsupported Media Type', t.errorPage(415, 'Unsupported Media Type')) },
  { name: 'POST /upload: Expect: something-else (417)', method: 'POST', path: '/upload',
    headers: [['Content-Type', 'application/json'], ['Expect', 'something-else']], body: '{}',
    tests: refused(417, 'Expectation Failed', t.errorPage(417, 'Expectation Failed')) },
  // No 413 here: the server answers 413 before reading the body and closes, and Node's HTTP
  // client (newman's, Postman's) then fails the request with EPIPE instead of reporting the
  // response. tests/curl/test_curl.sh and readme_examples.sh check the 413s with curl.
  { name: 'GET /upload: 405, Allow: POST, OPTIONS', path: '/upload', tests: [
    t.status(405), t.header('Allow', 'POST, OPTIONS'), ...t.errorPage(405, 'Method Not Allowed')] },
  { name: 'PUT /upload: 405', method: 'PUT', path: '/upload', headers: [['Content-Type', 'application/json']],
    body: '{}', tests: [t.status(405), t.header('Allow', 'POST, OPTIONS')] },
  { name: 'DELETE /upload: 405', method: 'DELETE', path: '/upload', tests: [t.status(405), t.header('Allow', 'POST, OPTIONS')] },
  { name: 'OPTIONS /upload: 204, Allow: POST, OPTIONS', method: 'OPTIONS', path: '/upload', tests: [
    t.status(204), t.header('Allow', 'POST, OPTIONS'), t.emptyBody(), ...t.keepAlive()] },
]);

folder('Errors', 'Error statuses a client can provoke with ordinary requests.', [
  { name: 'GET /missing.html: 404 page', path: '/missing.html', tests: [
    t.status(404), ...t.errorPage(404, 'Not Found'), ...t.keepAlive()] },
  { name: 'GET /no/such/dir/file.txt: 404', path: '/no/such/dir/file.txt', tests: [t.status(404)] },
  { name: 'GET /style.css: extension outside the MIME table (415)', path: '/style.css', tests: [
    t.status(415), ...t.errorPage(415, 'Unsupported Media Type'), ...t.keepAlive()] },
  ...['POST', 'PUT', 'DELETE', 'PATCH'].map((m) => ({
    name: `${m} /index.html: 405, Allow: GET, HEAD, OPTIONS`, method: m, path: '/index.html',
    tests: [t.status(405), t.header('Allow', 'GET, HEAD, OPTIONS'), ...t.errorPage(405, 'Method Not Allowed')] })),
  { name: 'OPTIONS /: 204, Allow: GET, HEAD, OPTIONS', method: 'OPTIONS', path: '/', tests: [
    t.status(204), t.header('Allow', 'GET, HEAD, OPTIONS'), t.noHeader('Content-Length'), t.emptyBody()] },
  { name: 'OPTIONS /any/path: 204', method: 'OPTIONS', path: '/any/path', tests: [
    t.status(204), t.header('Allow', 'GET, HEAD, OPTIONS')] },
  { name: 'BREW /: unknown method (501)', method: 'BREW', path: '/', tests: [
    t.status(501), ...t.errorPage(501, 'Not Implemented'), ...t.close()] },
  { name: 'GET /%zz: bad %-escape (400)', path: '/%zz', tests: [t.status(400), ...t.close()] },
  { name: 'GET a 9000-byte target (414)', path: '/{{longPath}}',
    pre: ['pm.collectionVariables.set("longPath", "a".repeat(9000) + ".html");'],
    tests: [t.status(414), ...t.errorPage(414, 'URI Too Long'), ...t.close()] },
  { name: 'GET with 120 header fields (431)', path: '/',
    headers: Array.from({ length: 120 }, (_, i) => [`X-Filler-${i}`, 'x']),
    tests: [t.status(431), ...t.close()] },
  { name: 'GET with a 9000-byte header (431)', path: '/', headers: [['X-Big', '{{bigHeader}}']],
    pre: ['pm.collectionVariables.set("bigHeader", "b".repeat(9000));'],
    tests: [t.status(431), ...t.close()] },
  { name: 'POST /upload with Transfer-Encoding: gzip (501)', method: 'POST', path: '/upload',
    headers: [['Content-Type', 'application/json'], ['Transfer-Encoding', 'gzip']], body: '{}',
    tests: [t.status(501), ...t.close()] },
]);

const forbidden = (name, p, headers = []) => ({ name, path: p, headers, tests: [
  t.status(403), ...t.errorPage(403, 'Forbidden'), ...t.keepAlive()] });
folder('Security', 'Host checking and path confinement. newman sends the targets below as written ' +
  '(literal .. segments included); a literal backslash is turned into / by the client, so it is sent as %5c.', [
  forbidden('Host: evil.com (403)', '/', [['Host', 'evil.com']]),
  forbidden('Host: evil.com:PORT (403)', '/', [['Host', 'evil.com:{{port}}']]),
  { name: 'Host: localhost:PORT (200)', path: '/contact.html', headers: [['Host', 'localhost:{{port}}']],
    tests: served('contact.html') },
  { name: 'Host: [::1]:PORT (200)', path: '/', headers: [['Host', '[::1]:{{port}}']], tests: [t.status(200)] },
  { name: 'Host: "bad host" (400, invalid syntax)', path: '/', headers: [['Host', 'bad host']],
    tests: [t.status(400), ...t.close()] },
  forbidden('/../../etc/passwd: literal .. (403)', '/../../etc/passwd'),
  forbidden('/nested/../../etc/passwd: literal .. (403)', '/nested/../../etc/passwd'),
  forbidden('/%2e%2e/%2e%2e/etc/passwd (403)', '/%2e%2e/%2e%2e/etc/passwd'),
  forbidden('/%2E%2E/%2E%2E/etc/passwd (403)', '/%2E%2E/%2E%2E/etc/passwd'),
  forbidden('/..%2f..%2fetc%2fpasswd (403)', '/..%2f..%2fetc%2fpasswd'),
  forbidden('/..%5c..%5cwindows%5cwin.ini (403)', '/..%5c..%5cwindows%5cwin.ini'),
  forbidden('/%2e%2e%5c%2e%2e%5cetc%5cpasswd (403)', '/%2e%2e%5c%2e%2e%5cetc%5cpasswd'),
  forbidden('/nested/%2e%2e/index.html (403)', '/nested/%2e%2e/index.html'),
  forbidden('/nested/.%2e/index.html (403)', '/nested/.%2e/index.html'),
  forbidden('/.hidden: dotfile (403)', '/.hidden'),
  forbidden('/.git/config: dot directory (403)', '/.git/config'),
  forbidden('/%2ehidden: encoded dotfile (403)', '/%2ehidden'),
  forbidden('/nested%5cpage.html: backslash (403)', '/nested%5cpage.html'),
  forbidden('/c%3a/windows/win.ini: colon (403)', '/c%3a/windows/win.ini'),
  { name: '/index.html%00.png: NUL byte (400)', path: '/index.html%00.png', tests: [t.status(400), ...t.close()] },
]);

folder('Connection', 'Keep-alive: the Keep-Alive header, Connection: close on request.', [
  { name: 'GET /: Connection: keep-alive, Keep-Alive: timeout=30, max=N', path: '/', tests: [
    t.status(200), ...t.keepAlive()] },
  { name: 'GET / with Connection: close', path: '/', headers: [['Connection', 'close']], tests: [
    t.status(200), ...t.close(), t.bytes('index.html', file('index.html'))] },
  { name: 'HEAD /logo.png with Connection: close', method: 'HEAD', path: '/logo.png',
    headers: [['Connection', 'close']], tests: [t.status(200), ...t.close(),
      t.contentLength(file('logo.png').length), t.emptyBody()] },
  { name: 'GET / with Connection: keep-alive', path: '/', headers: [['Connection', 'keep-alive']], tests: [
    t.status(200), ...t.keepAlive()] },
]);

const slice = (buf, a, b) => buf.subarray(a, b + 1);
const partial = (rel, buf, a, b) => [
  t.status(206), t.header('Content-Range', `bytes ${a}-${b}/${buf.length}`), t.contentLength(b - a + 1),
  t.header('Content-Type', 'application/octet-stream'), t.bytes(`bytes ${a}-${b} of ${rel}`, slice(buf, a, b))];
// Two or more ranges: 206 multipart/byteranges (RFC 9110 section 14.6). The boundary is random,
// so the expected body is assembled around the one the response names. ASCII files only.
const multipart = (rel, buf, ranges) => {
  const parts = ranges.map(([a, b]) =>
    `Content-Type: application/octet-stream\r\nContent-Range: bytes ${a}-${b}/${buf.length}\r\n\r\n` +
    slice(buf, a, b).toString('latin1'));
  return [
    t.status(206), t.headerMatch('Content-Type', '/^multipart\\/byteranges; boundary=[0-9a-f]{32}$/'),
    t.noHeader('Content-Range'),
    `pm.test(${J(`body is ${ranges.length} parts of ${rel}, Content-Length exact`)}, () => {\n` +
    `  const b = pm.response.headers.get("Content-Type").split("boundary=")[1];\n` +
    `  const parts = ${J(parts)};\n` +
    `  const want = parts.map((p) => "--" + b + "\\r\\n" + p + "\\r\\n").join("") + "--" + b + "--\\r\\n";\n` +
    `  pm.expect(pm.response.text()).to.eql(want);\n` +
    `  pm.expect(pm.response.headers.get("Content-Length")).to.eql(String(want.length));\n` +
    `});`,
    ...t.keepAlive()];
};
folder('Caching and ranges', 'ETag / Last-Modified revalidation (validators captured from a first response) and byte ranges.', [
  { name: 'GET /about.html: capture ETag and Last-Modified', path: '/about.html', tests: [
    ...served('about.html'),
    'pm.collectionVariables.set("etag", pm.response.headers.get("ETag"));',
    'pm.collectionVariables.set("lastModified", pm.response.headers.get("Last-Modified"));'] },
  { name: 'If-None-Match: the ETag (304)', path: '/about.html', headers: [['If-None-Match', '{{etag}}']], tests: [
    t.status(304), `pm.test("same ETag", () => pm.expect(pm.response.headers.get("ETag")).to.eql(pm.collectionVariables.get("etag")));`,
    t.noHeader('Content-Length'), t.emptyBody(), ...t.keepAlive()] },
  { name: 'If-None-Match: W/ + the ETag (304, weak comparison)', path: '/about.html',
    headers: [['If-None-Match', 'W/{{etag}}']], tests: [t.status(304)] },
  { name: 'If-None-Match: "other", the ETag (304)', path: '/about.html',
    headers: [['If-None-Match', '"other", {{etag}}']], tests: [t.status(304)] },
  { name: 'If-None-Match: * (304)', path: '/about.html', headers: [['If-None-Match', '*']], tests: [t.status(304)] },
  { name: 'If-None-Match: another ETag (200)', path: '/about.html', headers: [['If-None-Match', '"0.0-0"']],
    tests: served('about.html') },
  { name: 'If-Modified-Since: Last-Modified (304)', path: '/about.html',
    headers: [['If-Modified-Since', '{{lastModified}}']], tests: [t.status(304), t.emptyBody()] },
  { name: 'If-Modified-Since: 1994 (200)', path: '/about.html',
    headers: [['If-Modified-Since', 'Sun, 06 Nov 1994 08:49:37 GMT']], tests: served('about.html') },
  { name: 'Range: bytes=0-99 (206)', path: '/sample.txt', headers: [['Range', 'bytes=0-99']],
    tests: partial('sample.txt', sample, 0, 99) },
  { name: 'Range: bytes=-50 (206, the last 50)', path: '/sample.txt', headers: [['Range', 'bytes=-50']],
    tests: partial('sample.txt', sample, sample.length - 50, sample.length - 1) },
  { name: 'Range: bytes=370- (206, to the end)', path: '/sample.txt', headers: [['Range', 'bytes=370-']],
    tests: partial('sample.txt', sample, 370, sample.length - 1) },
  { name: 'Range: bytes=1000-2000 (416)', path: '/sample.txt', headers: [['Range', 'bytes=1000-2000']], tests: [
    t.status(416), t.header('Content-Range', `bytes */${sample.length}`), ...t.keepAlive()] },
  { name: 'Range: bytes=0-1,5-6 (206, multipart/byteranges)', path: '/sample.txt', headers: [['Range', 'bytes=0-1,5-6']],
    tests: multipart('sample.txt', sample, [[0, 1], [5, 6]]) },
  { name: 'Range: bytes=-7,10-19,15-29 (206, parts sorted and merged)', path: '/sample.txt',
    headers: [['Range', 'bytes=-7,10-19,15-29']],
    tests: multipart('sample.txt', sample, [[10, 29], [sample.length - 7, sample.length - 1]]) },
  { name: 'Range: 9 separate ranges (200, the whole file)', path: '/sample.txt',
    headers: [['Range', 'bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16']], tests: served('sample.txt') },
  { name: 'Range: bytes=abc (200, invalid range ignored)', path: '/sample.txt', headers: [['Range', 'bytes=abc']],
    tests: [t.status(200), t.noHeader('Content-Range'), t.bytes('sample.txt', sample)] },
  { name: 'Range in the middle of large_photo1.png (206)', path: '/large_photo1.png',
    headers: [['Range', 'bytes=500000-699999']], tests: partial('large_photo1.png', large, 500000, 699999) },
  { name: 'GET /sample.txt: capture its ETag', path: '/sample.txt', tests: [t.status(200),
    'pm.collectionVariables.set("sampleEtag", pm.response.headers.get("ETag"));'] },
  { name: 'If-Range: the ETag + Range (206)', path: '/sample.txt',
    headers: [['Range', 'bytes=0-9'], ['If-Range', '{{sampleEtag}}']], tests: partial('sample.txt', sample, 0, 9) },
  { name: 'If-Range: another ETag + Range (200, the whole file)', path: '/sample.txt',
    headers: [['Range', 'bytes=0-9'], ['If-Range', '"0.0-0"']], tests: served('sample.txt') },
  { name: 'HEAD with If-None-Match: the ETag (304)', method: 'HEAD', path: '/about.html',
    headers: [['If-None-Match', '{{etag}}']], tests: [t.status(304), t.emptyBody()] },
]);

// ---- to collection JSON ------------------------------------------------------------------------
function toItem(r) {
  const method = r.method || 'GET';
  const raw = `{{baseUrl}}${r.path}`;
  const request = {
    method,
    header: (r.headers || []).map(([key, value]) => ({ key, value })),
    url: { raw, host: ['{{baseUrl}}'], path: r.path.replace(/^\//, '').split('?')[0].split('/') },
  };
  const q = r.path.indexOf('?');
  if (q >= 0) {
    request.url.query = r.path.slice(q + 1).split('&').map((kv) => {
      const [key, ...v] = kv.split('=');
      return { key, value: v.join('=') };
    });
  }
  if (r.body !== undefined) request.body = { mode: 'raw', raw: r.body };
  const event = [];
  if (r.pre) event.push({ listen: 'prerequest', script: { type: 'text/javascript', exec: r.pre.join('\n').split('\n') } });
  event.push({ listen: 'test', script: { type: 'text/javascript', exec: r.tests.join('\n').split('\n') } });
  // A target that is a variable ({{filepath}} holds "/uploads/...") goes as a raw string.
  if (r.path.startsWith('{{')) request.url = raw;
  const item = { name: r.name, event, request };
  item.protocolProfileBehavior = { followRedirects: false, disableUrlEncoding: true };
  if (method === 'GET' && r.body !== undefined) item.protocolProfileBehavior.disableBodyPruning = true;
  return item;
}

const collection = {
  info: {
    name: 'uvhttpd',
    description:
      'Every endpoint and error path of uvhttpd\'s README, with assertions on status, headers and ' +
      'bodies. Set baseUrl (default http://127.0.0.1:8080) to the server, started on the bundled ' +
      'resources/ plus tests/fixtures/docroot/ (tests/make_docroot.py builds that root). Generated by ' +
      'tests/postman/build_collection.js; run by tests/postman/run_newman.sh (meson test --suite postman).',
    schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
  },
  variable: [{ key: 'baseUrl', value: 'http://127.0.0.1:8080', type: 'string' }],
  event: [
    { listen: 'prerequest', script: { type: 'text/javascript', exec: [
      '// port: for Host headers naming this server',
      'const m = /:(\\d+)\\/?$/.exec(pm.variables.get("baseUrl") || "");',
      'pm.variables.set("port", m ? m[1] : "80");'] } },
    { listen: 'test', script: { type: 'text/javascript', exec: [
      '// On every response (README: "Every response carries ...")',
      'pm.test("Server: uvhttpd/0.1.0", () => pm.expect(pm.response.headers.get("Server")).to.eql("uvhttpd/0.1.0"));',
      'pm.test("X-Content-Type-Options: nosniff", () => pm.expect(pm.response.headers.get("X-Content-Type-Options")).to.eql("nosniff"));',
      'pm.test("Date is an IMF-fixdate", () => pm.expect(pm.response.headers.get("Date")).to.match(/^[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT$/));'] } },
  ],
  item: folders.map((f) => ({ name: f.name, description: f.description, item: f.items.map(toItem) })),
};

const text = JSON.stringify(collection, null, '\t') + '\n';
if (process.argv[2] === '--check') {
  const current = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
  if (current !== text) {
    console.error(`${path.relative(SRC, OUT)} is out of date: run node tests/postman/build_collection.js`);
    process.exit(1);
  }
} else {
  fs.writeFileSync(OUT, text);
}
const nreq = folders.reduce((n, f) => n + f.items.length, 0);
console.log(`${path.relative(SRC, OUT)}: ${folders.length} folders, ${nreq} requests`);
