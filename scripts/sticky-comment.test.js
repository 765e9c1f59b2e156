// Tests for sticky-comment.js against a fake GitHub REST API on a loopback port. The fake
// answers as GitHub does (docs.github.com, "REST API endpoints for issue comments"): the
// comment objects' fields, 201 on create, 200 on update, 30 comments a page unless per_page
// (at most 100) says otherwise, a Link header with absolute `/repositories/{id}/...` URLs
// (not the /repos/{owner}/{repo} path the client asked for), 401 for a bad token and 403
// when the token may not write. Every request is logged so a test can say which calls
// were made. Run: node --test scripts/
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const sticky = require('./sticky-comment.js');

const REPO = 'acme/access';
const REPO_ID = 987654;
const PR = 42;
const BOT = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' };
const PERSON = { login: 'octocat', id: 583231, type: 'User' };
const OTHER_BOT = { login: 'dependabot[bot]', id: 49699333, type: 'Bot' };
const TOKENS = { 'ghs-bot-token': BOT, 'ghp-person-token': PERSON };
const MARKER = sticky.markerFor('org.yaml');

class FakeGitHub {
  constructor() {
    this.comments = [];
    this.log = [];
    this.nextId = 1000;
    this.readOnly = false;
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  stop() {
    return new Promise((resolve) => this.server.close(resolve));
  }

  add(user, body) {
    const id = this.nextId++;
    const at = new Date(Date.UTC(2025, 0, 1, 0, 0, id - 1000)).toISOString().replace('.000', '');
    const comment = {
      url: `${this.url}/repos/${REPO}/issues/comments/${id}`,
      html_url: `https://github.com/${REPO}/pull/${PR}#issuecomment-${id}`,
      issue_url: `${this.url}/repos/${REPO}/issues/${PR}`,
      id,
      node_id: `IC_kwDO${id}`,
      user: { ...user, site_admin: false },
      created_at: at,
      updated_at: at,
      author_association: user.type === 'Bot' ? 'NONE' : 'MEMBER',
      body,
    };
    this.comments.push(comment);
    return comment;
  }

  ours() {
    return this.comments.filter((c) => c.body.startsWith(MARKER) && c.user.login === BOT.login);
  }

  calls(method) {
    return this.log.filter((l) => l.method === method);
  }

  send(res, status, data, headers = {}) {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(data === undefined ? '' : JSON.stringify(data));
  }

  async handle(req, res) {
    const url = new URL(req.url, this.url);
    let raw = '';
    for await (const chunk of req) raw += chunk;
    this.log.push({ method: req.method, path: url.pathname, query: url.search, raw });
    const user = TOKENS[(req.headers.authorization || '').replace(/^Bearer /, '')];
    if (!user) {
      return this.send(res, 401, {
        message: 'Bad credentials',
        documentation_url: 'https://docs.github.com/rest',
        status: '401',
      });
    }
    const list = url.pathname.match(/^\/(?:repos\/acme\/access|repositories\/987654)\/issues\/(\d+)\/comments$/);
    const one = url.pathname.match(/^\/repos\/acme\/access\/issues\/comments\/(\d+)$/);
    if (list && req.method === 'GET') return this.list(res, url, Number(list[1]));
    if (list && req.method === 'POST') {
      if (this.readOnly) return this.forbidden(res);
      return this.send(res, 201, this.add(user, JSON.parse(raw).body));
    }
    if (one && req.method === 'PATCH') {
      const comment = this.comments.find((c) => c.id === Number(one[1]));
      if (!comment) return this.send(res, 404, { message: 'Not Found' });
      if (this.readOnly || comment.user.login !== user.login) return this.forbidden(res);
      comment.body = JSON.parse(raw).body;
      comment.updated_at = '2025-06-01T12:00:00Z';
      return this.send(res, 200, comment);
    }
    return this.send(res, 404, { message: 'Not Found' });
  }

  forbidden(res) {
    this.send(res, 403, {
      message: 'Resource not accessible by integration',
      documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
      status: '403',
    });
  }

  list(res, url, issue) {
    assert.equal(issue, PR);
    const perPage = Math.min(Number(url.searchParams.get('per_page') || 30), 100);
    const page = Number(url.searchParams.get('page') || 1);
    const last = Math.max(1, Math.ceil(this.comments.length / perPage));
    const at = (p) =>
      `<${this.url}/repositories/${REPO_ID}/issues/${PR}/comments?per_page=${perPage}&page=${p}>`;
    const links = [];
    if (page < last) links.push(`${at(page + 1)}; rel="next"`, `${at(last)}; rel="last"`);
    if (page > 1) links.push(`${at(1)}; rel="first"`, `${at(page - 1)}; rel="prev"`);
    const slice = this.comments.slice((page - 1) * perPage, page * perPage);
    this.send(res, 200, slice, links.length ? { link: links.join(', ') } : {});
  }
}

async function withGitHub(fn) {
  const gh = await new FakeGitHub().start();
  try {
    await fn(gh);
  } finally {
    await gh.stop();
  }
}

const CHANGES_PLAN = [
  '**Plan: 1 group to create, 2 to add.**',
  '',
  'Account `0123456789abcdef0123456789abcdef`',
  '',
  '#### quantum-chemistry (new access group)',
  '',
].join('\n');
const NO_CHANGES_PLAN =
  '**No changes. The account matches the file.**\n\nAccount `0123456789abcdef0123456789abcdef`\n';

// Runs main() the way the workflow does: GitHub's environment variables, an event file, the
// plan's files in a temporary directory. Returns main's result.
async function runMain(gh, { exitCode, plan = '', errors = '', token = 'ghs-bot-token', env = {} }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sticky-'));
  try {
    const event = path.join(dir, 'event.json');
    fs.writeFileSync(
      event,
      JSON.stringify({ action: 'synchronize', number: PR, pull_request: { number: PR, head: { sha: 'abc1234def5678' } } }),
    );
    fs.writeFileSync(path.join(dir, 'plan.md'), plan);
    fs.writeFileSync(path.join(dir, 'plan.err'), errors);
    const lines = [];
    const result = await sticky.main(
      {
        GITHUB_TOKEN: token,
        GITHUB_REPOSITORY: REPO,
        GITHUB_EVENT_PATH: event,
        GITHUB_API_URL: gh.url,
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_RUN_ID: '777',
        GITHUB_SHA: 'merge0000commit',
        ORGSYNC_PLAN_EXIT_CODE: String(exitCode),
        ORGSYNC_PLAN_FILE: path.join(dir, 'plan.md'),
        ORGSYNC_PLAN_ERRORS: path.join(dir, 'plan.err'),
        ORGSYNC_CONFIG: 'org.yaml',
        ...env,
      },
      { log: (line) => lines.push(line) },
    );
    result.lines = lines;
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('creates the comment when the pull request has none', async () => {
  await withGitHub(async (gh) => {
    const result = await runMain(gh, { exitCode: 2, plan: CHANGES_PLAN });
    assert.equal(result.action, 'created');
    assert.equal(gh.calls('POST').length, 1);
    assert.equal(gh.calls('POST')[0].path, `/repos/${REPO}/issues/${PR}/comments`);
    const [comment] = gh.ours();
    assert.equal(comment.body.split('\n')[0], MARKER, 'the marker is the first line');
    assert.match(comment.body, /### orgsync plan: changes to apply on merge/);
    assert.match(comment.body, /\*\*Plan: 1 group to create, 2 to add\.\*\*/);
    assert.match(comment.body, /at abc1234/, 'names the head commit, not the merge commit');
    assert.match(result.lines[0], /created https:\/\/github\.com\/acme\/access\/pull\/42#issuecomment-/);
  });
});

test('updates its own earlier comment instead of adding one', async () => {
  await withGitHub(async (gh) => {
    gh.add(PERSON, 'Looks good to me');
    const first = await runMain(gh, { exitCode: 2, plan: CHANGES_PLAN });
    gh.add(PERSON, 'One more push coming');
    const second = await runMain(gh, {
      exitCode: 2,
      plan: CHANGES_PLAN.replace('2 to add', '3 to add'),
    });
    assert.equal(second.action, 'updated');
    assert.equal(second.id, first.id);
    assert.equal(gh.ours().length, 1);
    assert.equal(gh.comments.length, 3);
    assert.equal(gh.calls('PATCH').length, 1);
    assert.equal(gh.calls('PATCH')[0].path, `/repos/${REPO}/issues/comments/${first.id}`);
    assert.match(gh.ours()[0].body, /3 to add/);
  });
});

test('a plan with no changes says so in the same comment', async () => {
  await withGitHub(async (gh) => {
    const first = await runMain(gh, { exitCode: 2, plan: CHANGES_PLAN });
    const second = await runMain(gh, { exitCode: 0, plan: NO_CHANGES_PLAN });
    assert.equal(second.action, 'updated');
    assert.equal(second.id, first.id);
    const [comment] = gh.ours();
    assert.match(comment.body, /### orgsync plan: no changes/);
    assert.match(comment.body, /already matches `org\.yaml` at abc1234/);
    assert.match(comment.body, /No changes\. The account matches the file\./);
    assert.doesNotMatch(comment.body, /quantum-chemistry/, 'the old plan is gone');
  });
});

test('ignores comments without the marker, even those by github-actions[bot]', async () => {
  await withGitHub(async (gh) => {
    gh.add(BOT, '### Test results\n\nAll green.');
    gh.add(OTHER_BOT, 'Bumps serde from 1.0.0 to 1.0.1.');
    gh.add(BOT, `Some text first\n${MARKER}\nnot on the first line`);
    const result = await runMain(gh, { exitCode: 2, plan: CHANGES_PLAN });
    assert.equal(result.action, 'created');
    assert.equal(gh.calls('PATCH').length, 0);
    assert.equal(gh.comments[0].body, '### Test results\n\nAll green.');
  });
});

test("ignores the marker in other users' and bots' comments", async () => {
  await withGitHub(async (gh) => {
    const quoted = gh.add(PERSON, `${MARKER}\nI copied the plan here to discuss it`);
    gh.add(OTHER_BOT, `${MARKER}\nanother bot`);
    const result = await runMain(gh, { exitCode: 2, plan: CHANGES_PLAN });
    assert.equal(result.action, 'created');
    assert.equal(gh.calls('PATCH').length, 0);
    assert.match(quoted.body, /I copied the plan/);
    // With ORGSYNC_COMMENT_AUTHOR the posting account can be another one.
    const asPerson = await runMain(gh, {
      exitCode: 0,
      plan: NO_CHANGES_PLAN,
      token: 'ghp-person-token',
      env: { ORGSYNC_COMMENT_AUTHOR: PERSON.login },
    });
    assert.equal(asPerson.action, 'updated');
    assert.equal(asPerson.id, quoted.id);
  });
});

test('follows the Link header through every page of comments', async () => {
  await withGitHub(async (gh) => {
    for (let i = 0; i < 230; i++) gh.add(i % 2 ? PERSON : OTHER_BOT, `comment ${i}`);
    const first = await runMain(gh, { exitCode: 2, plan: CHANGES_PLAN });
    assert.equal(first.action, 'created');
    assert.deepEqual(
      gh.calls('GET').map((c) => c.path + c.query),
      [
        `/repos/${REPO}/issues/${PR}/comments?per_page=100`,
        `/repositories/${REPO_ID}/issues/${PR}/comments?per_page=100&page=2`,
        `/repositories/${REPO_ID}/issues/${PR}/comments?per_page=100&page=3`,
      ],
    );
    for (let i = 0; i < 20; i++) gh.add(PERSON, `later ${i}`);
    gh.log.length = 0;
    const second = await runMain(gh, { exitCode: 0, plan: NO_CHANGES_PLAN });
    assert.equal(second.action, 'updated', 'found on page 3 of 3');
    assert.equal(second.id, first.id);
    assert.equal(gh.calls('GET').length, 3);
    assert.equal(gh.calls('POST').length, 0);
    assert.equal(gh.ours().length, 1);
  });
});

test('leaves an identical comment alone', async () => {
  await withGitHub(async (gh) => {
    await runMain(gh, { exitCode: 2, plan: CHANGES_PLAN });
    const again = await runMain(gh, { exitCode: 2, plan: CHANGES_PLAN });
    assert.equal(again.action, 'unchanged');
    assert.equal(gh.calls('PATCH').length, 0);
    assert.equal(gh.calls('POST').length, 1);
  });
});

test('a failed plan replaces the earlier plan with the error', async () => {
  await withGitHub(async (gh) => {
    await runMain(gh, { exitCode: 2, plan: CHANGES_PLAN });
    const errors = 'error: org.yaml:4:3: unknown key `grups`\n  help: did you mean `groups`?\n';
    const result = await runMain(gh, { exitCode: 1, plan: '', errors });
    assert.equal(result.action, 'updated');
    const [comment] = gh.ours();
    assert.match(comment.body, /### orgsync plan: failed/);
    assert.match(comment.body, /The plan of abc1234 failed \(exit code 1\)/);
    assert.match(comment.body, /unknown key `grups`/);
    assert.match(comment.body, /\[the job log\]\(https:\/\/github\.com\/acme\/access\/actions\/runs\/777\)/);
    assert.doesNotMatch(comment.body, /quantum-chemistry/, 'no stale plan is left');
  });
});

test('a plan that never ran (validate failed) replaces the earlier plan too', async () => {
  await withGitHub(async (gh) => {
    await runMain(gh, { exitCode: 2, plan: CHANGES_PLAN });
    const errors = 'org.yaml:7:5: error: group `chem` is listed twice\n';
    const result = await runMain(gh, { exitCode: '', plan: '', errors });
    assert.equal(result.action, 'updated');
    const [comment] = gh.ours();
    assert.match(comment.body, /### orgsync plan: failed/);
    assert.match(comment.body, /stopped before the plan of abc1234/);
    assert.match(comment.body, /group `chem` is listed twice/);
    assert.doesNotMatch(comment.body, /quantum-chemistry/);
  });
});

test('a plan longer than a comment may be is cut to its summary', async () => {
  await withGitHub(async (gh) => {
    const rows = Array.from({ length: 3000 }, (_, i) => `| ➕ add | user${i}@example.com |  |`);
    const plan = `**Plan: 3000 to add.**\n\n${rows.join('\n')}\n`;
    assert.ok(plan.length > 65536);
    await runMain(gh, { exitCode: 2, plan });
    const [comment] = gh.ours();
    assert.ok(comment.body.length <= 65536, `${comment.body.length} characters`);
    assert.match(comment.body, /\*\*Plan: 3000 to add\.\*\*/);
    assert.match(comment.body, /longer than a GitHub comment may be; read it in \[the job log\]/);
    assert.doesNotMatch(comment.body, /user2999@/);
  });
});

test('says what to do when GitHub refuses, and never prints the token', async () => {
  await withGitHub(async (gh) => {
    gh.readOnly = true;
    await assert.rejects(runMain(gh, { exitCode: 2, plan: CHANGES_PLAN }), (e) => {
      assert.match(e.message, /GitHub answered 403 to POST .*\/repos\/acme\/access\/issues\/42\/comments/);
      assert.match(e.message, /Resource not accessible by integration/);
      assert.match(e.message, /pull-requests: write/);
      assert.doesNotMatch(e.message, /ghs-bot-token/);
      return true;
    });
    await assert.rejects(runMain(gh, { exitCode: 2, plan: CHANGES_PLAN, token: 'wrong' }), (e) => {
      assert.match(e.message, /GitHub answered 401 .*Bad credentials/);
      assert.doesNotMatch(e.message, /wrong/);
      return true;
    });
  });
});

test('keeps one comment per config file', async () => {
  await withGitHub(async (gh) => {
    const main = await runMain(gh, { exitCode: 2, plan: CHANGES_PLAN });
    const staging = await runMain(gh, {
      exitCode: 0,
      plan: NO_CHANGES_PLAN,
      env: { ORGSYNC_CONFIG: 'staging.yaml' },
    });
    assert.equal(staging.action, 'created');
    assert.notEqual(staging.id, main.id);
    assert.match(gh.comments.find((c) => c.id === main.id).body, /changes to apply on merge/);
  });
});

test('the marker cannot be closed early by the config name', () => {
  const marker = sticky.markerFor('weird--name>.yaml');
  assert.equal(marker, '<!-- orgsync-plan config="weird-name.yaml" -->');
  assert.equal((marker.match(/--/g) || []).length, 2, 'only the opening and closing dashes');
});

test('refuses to run without its inputs', async () => {
  await withGitHub(async (gh) => {
    await assert.rejects(
      runMain(gh, { exitCode: 2, plan: CHANGES_PLAN, env: { ORGSYNC_PLAN_EXIT_CODE: 'two' } }),
      /ORGSYNC_PLAN_EXIT_CODE is not an exit code: two/,
    );
    await assert.rejects(
      runMain(gh, { exitCode: 2, env: { GITHUB_TOKEN: '' } }),
      /GITHUB_TOKEN is not set/,
    );
    assert.equal(gh.log.length, 0, 'nothing was sent');
  });
});
