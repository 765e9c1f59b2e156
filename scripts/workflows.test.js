// Tests that the workflows fit together: the CI example (examples/github-workflow.yml)
// installs exactly what the release workflow (.github/workflows/release.yml) publishes.
// The release's packaging step and the example's install step are taken out of the YAML
// and run with bash, as a runner would (`bash -eo pipefail`), against a loopback server that
// stands in for github.com's release downloads. The schema of both files is checked
// separately, by action-validator in .ci/run. Run: node --test scripts/
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const EXAMPLE = fs.readFileSync(path.join(ROOT, 'examples/github-workflow.yml'), 'utf8');
const RELEASE = fs.readFileSync(path.join(ROOT, '.github/workflows/release.yml'), 'utf8');
const VERSION = 'v0.1.0';
const TARGET = 'x86_64-unknown-linux-musl';
const NAME = `orgsync-${VERSION}-${TARGET}`;

/** The `run: |` scripts of every step whose name starts with `name`, in file order. */
function runScripts(yaml, name) {
  const lines = yaml.split('\n');
  const scripts = [];
  lines.forEach((line, i) => {
    const step = line.match(/^(\s*)- name: (.*)$/);
    if (!step || !step[2].startsWith(name)) return;
    const inner = step[1].length + 2;
    for (let j = i + 1; j < lines.length; j++) {
      const indent = lines[j].match(/^\s*/)[0].length;
      if (lines[j].trim() && indent < inner) break;
      if (lines[j].trim() && indent === inner && lines[j].trim().startsWith('- ')) break;
      const run = lines[j].match(/^(\s*)run: \|\s*$/);
      if (!run) continue;
      const body = [];
      for (let k = j + 1; k < lines.length; k++) {
        if (lines[k].trim() && lines[k].match(/^\s*/)[0].length <= run[1].length) break;
        body.push(lines[k]);
      }
      const cut = Math.min(...body.filter((l) => l.trim()).map((l) => l.match(/^\s*/)[0].length));
      scripts.push(body.map((l) => l.slice(cut)).join('\n').trimEnd() + '\n');
      break;
    }
  });
  return scripts;
}

function bash(script, { cwd, env }) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
      cwd,
      env: { PATH: process.env.PATH, HOME: os.tmpdir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

// Packages a stand-in binary with release.yml's own packaging step; returns the dist dir.
async function packageLikeRelease(dir) {
  const [script] = runScripts(RELEASE, 'Package with a SHA-256 checksum');
  assert.ok(script, 'release.yml has a packaging step');
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.copyFileSync(path.join(ROOT, 'README.md'), path.join(dir, 'README.md'));
  fs.copyFileSync(path.join(ROOT, 'scripts/sticky-comment.js'), path.join(dir, 'scripts/sticky-comment.js'));
  const bin = path.join(dir, 'orgsync');
  fs.writeFileSync(bin, '#!/bin/sh\necho "orgsync 0.1.0 (stand-in)"\n', { mode: 0o755 });
  const run = await bash(script, { cwd: dir, env: { NAME, TARGET, BIN: bin } });
  assert.equal(run.code, 0, run.out);
  return path.join(dir, 'dist');
}

// Serves `dist` where github.com serves a release's assets.
async function releaseServer(dist) {
  const prefix = `/acme/orgsync/releases/download/${VERSION}/`;
  const server = http.createServer((req, res) => {
    const file = req.url.startsWith(prefix) && path.join(dist, path.basename(req.url));
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404);
      return res.end('Not Found');
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(fs.readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${server.address().port}/` };
}

// Runs the example's install step against the stand-in server, in a fresh RUNNER_TEMP.
async function install(dir, base, pinned) {
  const [script] = runScripts(EXAMPLE, 'Install orgsync');
  const runner = fs.mkdtempSync(path.join(dir, 'runner-'));
  const env = {
    ORGSYNC_VERSION: VERSION,
    ORGSYNC_REPO: 'acme/orgsync',
    ORGSYNC_SHA256: pinned,
    RUNNER_TEMP: runner,
    GITHUB_PATH: path.join(runner, 'github_path'),
    GITHUB_ENV: path.join(runner, 'github_env'),
  };
  const run = await bash(script.replaceAll('https://github.com/', base), { cwd: dir, env });
  const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
  return { ...run, path: read(env.GITHUB_PATH).trim(), env: read(env.GITHUB_ENV) };
}

async function withRelease(fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orgsync-workflows-'));
  const dist = await packageLikeRelease(dir);
  const { server, base } = await releaseServer(dist);
  try {
    const sha = fs.readFileSync(path.join(dist, `${NAME}.tar.gz.sha256`), 'utf8').split(' ')[0];
    await fn({ dir, dist, base, sha });
  } finally {
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the example runs its steps as these tests do: bash -eo pipefail', () => {
  assert.match(EXAMPLE, /^defaults:\n  run:\n    shell: bash$/m);
  assert.match(RELEASE, /^    defaults:\n      run:\n        shell: bash$/m);
});

test('every job of the example installs orgsync the same way', () => {
  const scripts = runScripts(EXAMPLE, 'Install orgsync');
  assert.equal(scripts.length, 3, 'plan, apply and drift');
  assert.equal(scripts[1], scripts[0]);
  assert.equal(scripts[2], scripts[0]);
  assert.doesNotMatch(scripts[0], /cargo/, 'no compiler');
});

test('the example installs the package release.yml publishes, pinned by its SHA-256', async () => {
  await withRelease(async ({ dir, dist, base, sha }) => {
    assert.deepEqual(fs.readdirSync(dist).sort(), [`${NAME}.tar.gz`, `${NAME}.tar.gz.sha256`]);
    const run = await install(dir, base, sha);
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /orgsync 0\.1\.0 \(stand-in\)/, 'the installed binary ran');
    assert.doesNotMatch(run.out, /::warning::/);
    assert.ok(fs.existsSync(path.join(run.path, 'orgsync')), `orgsync in ${run.path}`);
    // The comment step requires ORGSYNC_HOME/sticky-comment.js: it must be in the package.
    const home = run.env.match(/^ORGSYNC_HOME=(.*)$/m)[1];
    assert.ok(fs.existsSync(path.join(home, 'sticky-comment.js')));
    assert.match(EXAMPLE, /require\(`\$\{process\.env\.ORGSYNC_HOME\}\/sticky-comment\.js`\)/);
  });
});

test('a package that does not match the pinned SHA-256 is not installed', async () => {
  await withRelease(async ({ dir, base, sha }) => {
    const wrong = sha.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const run = await install(dir, base, wrong);
    assert.notEqual(run.code, 0, run.out);
    assert.match(run.out, /FAILED/);
    assert.equal(run.path, '', 'nothing was put on the PATH');
  });
});

test('a package replaced together with its published checksum is caught by the pin', async () => {
  await withRelease(async ({ dir, dist, base, sha }) => {
    const tarball = path.join(dist, `${NAME}.tar.gz`);
    fs.appendFileSync(tarball, 'tampered');
    const digest = require('node:crypto').createHash('sha256').update(fs.readFileSync(tarball)).digest('hex');
    fs.writeFileSync(`${tarball}.sha256`, `${digest}  ${NAME}.tar.gz\n`);
    const run = await install(dir, base, sha);
    assert.notEqual(run.code, 0, run.out);
    assert.equal(run.path, '');
  });
});

test('a corrupt download fails even without a pin, and no pin is warned about', async () => {
  await withRelease(async ({ dir, dist, base }) => {
    const clean = await install(dir, base, '');
    assert.equal(clean.code, 0, clean.out);
    assert.match(clean.out, /::warning::ORGSYNC_SHA256 is empty/);
    fs.appendFileSync(path.join(dist, `${NAME}.tar.gz`), 'corrupt');
    const corrupt = await install(dir, base, '');
    assert.notEqual(corrupt.code, 0, corrupt.out);
    assert.equal(corrupt.path, '');
  });
});

test('a version with no release fails the install', async () => {
  await withRelease(async ({ dir, base, sha }) => {
    const run = await install(dir, base.replace(/\/$/, '/missing/'), sha);
    assert.notEqual(run.code, 0, run.out);
    assert.match(run.out, /404/);
  });
});

test("the plan step hands the comment step what sticky-comment.js reads", () => {
  const [plan] = runScripts(EXAMPLE, 'Plan');
  assert.match(plan, /> plan\.md 2> plan\.err/, 'the script\'s default file names');
  assert.match(plan, /echo "exit-code=\$code" >> "\$GITHUB_OUTPUT"/);
  assert.match(EXAMPLE, /ORGSYNC_PLAN_EXIT_CODE: \$\{\{ steps\.plan\.outputs\.exit-code \}\}/);
  assert.match(EXAMPLE, /GITHUB_TOKEN: \$\{\{ github\.token \}\}/);
});

test('the validate step annotates on stdout, keeps the text in plan.err, and fails as validate does', async () => {
  const [script] = runScripts(EXAMPLE, 'Validate');
  assert.ok(script, 'the example has a Validate step');
  assert.match(script, /orgsync validate --format github 2> plan\.err/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orgsync-validate-'));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  // A stand-in for `orgsync validate --format github` that finds one problem, or none.
  fs.writeFileSync(
    path.join(bin, 'orgsync'),
    '#!/bin/sh\n[ "$1 $2 $3" = "validate --format github" ] || exit 64\n' +
      'if [ -n "$PROBLEM" ]; then echo "::error file=org.yaml,line=7,col=14,title=unknown group::x"; ' +
      'echo "error: unknown group" >&2; exit 78; fi\n',
    { mode: 0o755 },
  );
  const env = { PATH: `${bin}:${process.env.PATH}` };
  const failed = await bash(script, { cwd: dir, env: { ...env, PROBLEM: '1' } });
  assert.equal(failed.code, 78, failed.out);
  assert.match(failed.out, /^::error file=org\.yaml,line=7,col=14,/m);
  assert.equal(fs.readFileSync(path.join(dir, 'plan.err'), 'utf8'), 'error: unknown group\n');
  const passed = await bash(script, { cwd: dir, env });
  assert.equal(passed.code, 0, passed.out);
  assert.equal(fs.readFileSync(path.join(dir, 'plan.err'), 'utf8'), '');
  fs.rmSync(dir, { recursive: true, force: true });
});
