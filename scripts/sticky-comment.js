// sticky-comment.js: keeps ONE orgsync plan comment per pull request and rewrites it on every
// push, so the pull request shows the current plan once instead of a stack of stale ones.
//
// The job finds its own earlier comment by a hidden marker (an HTML comment on the body's
// first line, naming the config file, so two orgsync workflows in one repository keep one
// comment each) written by the account that posts (github-actions[bot] unless
// ORGSYNC_COMMENT_AUTHOR says otherwise): a comment that lacks the marker, or has it but
// was written by someone else (a person quoting it), is never touched. Comments are read
// page by page (GitHub's `Link: rel="next"`), 100 at a time.
//
// Runs on the Actions runner's own Node.js (through actions/github-script) or any Node >= 18:
//   node sticky-comment.js          (or require(...).main(process.env) from github-script)
// Inputs, all environment variables:
//   GITHUB_TOKEN            token allowed to write pull-request comments
//   GITHUB_REPOSITORY, GITHUB_EVENT_PATH, GITHUB_API_URL, GITHUB_SERVER_URL, GITHUB_RUN_ID
//                           set by GitHub Actions (the pull request number and head commit
//                           come from the event file)
//   ORGSYNC_PLAN_EXIT_CODE  the exit code of `orgsync plan --detailed-exitcode`:
//                           0 no changes, 2 changes, another: the plan failed; empty: the
//                           plan did not run (an earlier step such as validate failed)
//   ORGSYNC_PLAN_FILE       the plan as markdown (`--format markdown`), default plan.md
//   ORGSYNC_PLAN_ERRORS     the plan's (or validate's) errors, shown when it failed, default
//                           plan.err
//   ORGSYNC_CONFIG          the config file the plan is of, default org.yaml (in the marker)
//   ORGSYNC_COMMENT_AUTHOR  login that posts the comment, default github-actions[bot]
// The token is sent only in the Authorization header and never printed.
'use strict';

const fs = require('node:fs');

// GitHub rejects a comment body longer than this (422 Unprocessable Entity).
const MAX_BODY = 65536;
// The failed plan's stderr is cut to its last lines: the error is at the end.
const ERROR_LINES = 40;
const DEFAULT_AUTHOR = 'github-actions[bot]';

/** The hidden first line that identifies orgsync's comment for one config file. */
function markerFor(config) {
  // An HTML comment ends at "--" or ">": keep the key from closing it early.
  const key = String(config).replace(/-{2,}/g, '-').replace(/[<>]/g, '');
  return `<!-- orgsync-plan config="${key}" -->`;
}

function isOurs(comment, marker, author) {
  const body = typeof comment.body === 'string' ? comment.body : '';
  const login = comment.user && comment.user.login;
  return body.split('\n', 1)[0].trim() === marker && login === author;
}

/**
 * The comment's body. `exitCode` is plan's: 0 no changes, 2 changes, another failed, null
 * did not run.
 * `plan` is its markdown, `errors` its stderr; `commit` and `runUrl` say which push it is.
 */
function renderComment({ marker, exitCode, plan, errors, commit, runUrl, config }) {
  const short = (commit || '').slice(0, 7) || 'this push';
  const log = runUrl ? `[the job log](${runUrl})` : 'the job log';
  const footer =
    `<sub>orgsync plan of \`${config}\` at ${short}; ` +
    'this comment is updated on every push, never added again.</sub>';
  let heading;
  let content;
  if (exitCode === 0 || exitCode === 2) {
    heading =
      exitCode === 0
        ? '### orgsync plan: no changes'
        : '### orgsync plan: changes to apply on merge';
    const lead =
      exitCode === 0
        ? `Nothing to do: the account already matches \`${config}\` at ${short}.`
        : `Merging applies these changes to the account (\`${config}\` at ${short}).`;
    content = `${lead}\n\n${plan.trim()}`;
    const fixed = [marker, heading, '', '', '', footer].join('\n').length;
    if (fixed + content.length > MAX_BODY) {
      const summary = plan.trim().split('\n', 1)[0];
      content =
        `${lead}\n\n${summary}\n\n` +
        `The full plan is ${plan.length.toLocaleString('en-US')} characters, longer than ` +
        `a GitHub comment may be; read it in ${log}.`;
    }
  } else {
    heading = '### orgsync plan: failed';
    const tail = (errors || '').trimEnd().split('\n').slice(-ERROR_LINES).join('\n');
    const what =
      exitCode === null
        ? `The job stopped before the plan of ${short} (an earlier step failed)`
        : `The plan of ${short} failed (exit code ${exitCode})`;
    content =
      `${what}, so no plan is shown; an earlier plan in this comment was removed because ` +
      `it may no longer hold. See ${log}.`;
    if (tail.trim()) {
      content += `\n\n\`\`\`text\n${tail.replace(/```/g, "'''")}\n\`\`\``;
    }
  }
  return [marker, heading, '', content, '', footer].join('\n');
}

class GitHubError extends Error {
  constructor(method, url, status, message) {
    const hint =
      status === 401
        ? ' The token was refused: check the GITHUB_TOKEN given to this step.'
        : status === 403 || status === 404
          ? ' The token may not write comments here: give the job `permissions: ' +
            'pull-requests: write`; pull requests from forks get a read-only token.'
          : '';
    super(`GitHub answered ${status} to ${method} ${url}: ${message}.${hint}`);
    this.status = status;
  }
}

/** A minimal GitHub REST client over fetch. */
function client({ apiUrl, token, fetchImpl = fetch }) {
  const base = apiUrl.replace(/\/+$/, '');
  return async function request(method, pathOrUrl, body) {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${base}${pathOrUrl}`;
    const response = await fetchImpl(url, {
      method,
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${token}`,
        'x-github-api-version': '2022-11-28',
        'user-agent': 'orgsync-sticky-comment',
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const message = (data && data.message) || text.slice(0, 200) || response.statusText;
      throw new GitHubError(method, url.split('?')[0], response.status, message);
    }
    return { data, link: response.headers.get('link') || '' };
  };
}

/** The URL of the `rel="next"` page in a Link header, or null. */
function nextPage(link) {
  for (const part of link.split(',')) {
    const m = part.match(/<([^>]+)>\s*;\s*rel="([^"]+)"/);
    if (m && m[2].split(/\s+/).includes('next')) return m[1];
  }
  return null;
}

/** orgsync's own comment on the pull request, or null: the oldest one if there are several. */
async function findComment(request, { repo, issue, marker, author }) {
  let url = `/repos/${repo}/issues/${issue}/comments?per_page=100`;
  while (url) {
    const { data, link } = await request('GET', url);
    const found = (data || []).find((c) => isOurs(c, marker, author));
    if (found) return found;
    url = nextPage(link);
  }
  return null;
}

/** Creates the comment, or updates orgsync's earlier one. Returns what it did. */
async function upsertComment(request, { repo, issue, marker, author, body }) {
  const existing = await findComment(request, { repo, issue, marker, author });
  if (existing && existing.body === body) {
    return { action: 'unchanged', id: existing.id, url: existing.html_url };
  }
  if (existing) {
    const { data } = await request('PATCH', `/repos/${repo}/issues/comments/${existing.id}`, {
      body,
    });
    return { action: 'updated', id: data.id, url: data.html_url };
  }
  const { data } = await request('POST', `/repos/${repo}/issues/${issue}/comments`, { body });
  return { action: 'created', id: data.id, url: data.html_url };
}

function readOr(path, fallback) {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (e) {
    if (e.code === 'ENOENT') return fallback;
    throw e;
  }
}

// Empty: the plan did not run (a step before it, such as validate, failed).
function parseExitCode(value) {
  if (value === undefined || value === '') return null;
  if (!/^\d+$/.test(value)) {
    throw new Error(`sticky-comment: ORGSYNC_PLAN_EXIT_CODE is not an exit code: ${value}`);
  }
  return Number(value);
}

function required(env, name) {
  const value = env[name];
  if (!value) throw new Error(`sticky-comment: ${name} is not set`);
  return value;
}

/** Reads the inputs (see the header) and upserts the comment. */
async function main(env = process.env, { fetchImpl = fetch, log = console.log } = {}) {
  const token = required(env, 'GITHUB_TOKEN');
  const repo = required(env, 'GITHUB_REPOSITORY');
  const event = JSON.parse(fs.readFileSync(required(env, 'GITHUB_EVENT_PATH'), 'utf8'));
  const pr = event.pull_request;
  if (!pr || !pr.number) {
    throw new Error('sticky-comment: the event is not a pull request (no pull_request.number)');
  }
  const exitCode = parseExitCode(env.ORGSYNC_PLAN_EXIT_CODE);
  const config = env.ORGSYNC_CONFIG || 'org.yaml';
  const marker = markerFor(config);
  const server = env.GITHUB_SERVER_URL || 'https://github.com';
  const body = renderComment({
    marker,
    exitCode,
    plan: readOr(env.ORGSYNC_PLAN_FILE || 'plan.md', ''),
    errors: readOr(env.ORGSYNC_PLAN_ERRORS || 'plan.err', ''),
    commit: (pr.head && pr.head.sha) || env.GITHUB_SHA,
    runUrl: env.GITHUB_RUN_ID ? `${server}/${repo}/actions/runs/${env.GITHUB_RUN_ID}` : '',
    config,
  });
  const request = client({
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
    token,
    fetchImpl,
  });
  const author = env.ORGSYNC_COMMENT_AUTHOR || DEFAULT_AUTHOR;
  const result = await upsertComment(request, { repo, issue: pr.number, marker, author, body });
  log(`sticky-comment: ${result.action} ${result.url || `comment ${result.id}`}`);
  return result;
}

module.exports = { main, upsertComment, findComment, renderComment, markerFor, nextPage, client };

if (require.main === module) {
  main().catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
