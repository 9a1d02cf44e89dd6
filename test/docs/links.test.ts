/**
 * Every relative link in README.md, CONTRIBUTING.md and docs/*.md resolves: the file (or folder)
 * exists, and a `#anchor` into a Markdown file names one of its headings, slugged as GitHub does
 * (lowercase, punctuation dropped except `-` and `_`, spaces to `-`, repeats suffixed `-1`, `-2`).
 * Links inside code (fenced blocks, inline spans) are text, not links, and are skipped.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The text outside fenced code blocks, line by line (fence lines and code lines become empty). */
function prose(markdown: string): string[] {
  let fence: string | null = null;
  return markdown.split('\n').map((line) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === null && marker !== undefined) {
      fence = marker;
      return '';
    }
    if (fence !== null) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = null;
      return '';
    }
    return line;
  });
}

/** GitHub's heading anchor: rendered text, lowercased, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text only
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*~]/g, '');
  return text.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

/** Anchors of a Markdown file's headings, in GitHub's form, with `-1`, `-2` for repeats. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Relative link targets of a Markdown text (inline links and images), outside code. */
export function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  for (const line of prose(markdown)) {
    const text = line.replace(/(`+)[^`]*?\1/g, ''); // inline code spans
    for (const m of text.matchAll(/!?\[(?:[^\][]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue; // http:, mailto: …
      links.push(target);
    }
  }
  return links;
}

/** What is wrong with each relative link of `file` (a path under `base`): one line per broken link. */
export function brokenLinks(file: string, markdown: string, base = root): string[] {
  const problems: string[] = [];
  for (const link of relativeLinks(markdown)) {
    const hash = link.indexOf('#');
    const path = decodeURIComponent(hash < 0 ? link : link.slice(0, hash));
    const anchor = hash < 0 ? null : decodeURIComponent(link.slice(hash + 1));
    const target = path === '' ? join(base, file) : join(base, dirname(file), path);
    if (path !== '' && !existsSync(target)) {
      problems.push(`${file}: ${link} → no such file ${relative(base, target)}`);
      continue;
    }
    if (anchor === null || anchor === '' || !target.endsWith('.md') || (path !== '' && statSync(target).isDirectory())) continue;
    const text = path === '' ? markdown : readFileSync(target, 'utf8');
    if (!anchors(text).has(anchor)) problems.push(`${file}: ${link} → no heading #${anchor} in ${relative(base, target)}`);
  }
  return problems;
}

const pages = ['README.md', 'CONTRIBUTING.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('links in README.md, CONTRIBUTING.md and docs/', () => {
  it.each(pages)('%s: every relative link resolves', (file) => {
    expect(brokenLinks(file, readFileSync(join(root, file), 'utf8'))).toEqual([]);
  });

  it('every docs/ page is linked from docs/README.md', () => {
    const index = relativeLinks(readFileSync(join(root, 'docs/README.md'), 'utf8')).map((l) => l.split('#')[0]);
    for (const file of pages.filter((p) => p.startsWith('docs/') && p !== 'docs/README.md')) {
      expect(index, `docs/README.md does not link ${file}`).toContain(file.slice('docs/'.length));
    }
  });

  it('the checker finds a missing file, a missing heading and ignores links in code', () => {
    const page = [
      '# Title: with `code` & punctuation',
      '## Title: with code & punctuation',
      '[ok](#title-with-code--punctuation) [repeat](#title-with-code--punctuation-1) [file](../README.md#pitboss)',
      '[gone](docs/nope.md) [bad anchor](#nope) [bad anchor elsewhere](../README.md#no-such-heading)',
      '`[in code](nope.md)`',
      '```md',
      '[in a fence](nope.md)',
      '```',
      '[web](https://example.com/x.md)',
    ].join('\n');
    expect(brokenLinks('docs/page.md', page)).toEqual([
      'docs/page.md: docs/nope.md → no such file docs/docs/nope.md',
      'docs/page.md: #nope → no heading #nope in docs/page.md',
      'docs/page.md: ../README.md#no-such-heading → no heading #no-such-heading in README.md',
    ]);
  });
});
