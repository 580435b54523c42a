// Shared assertion of the HTML report tests: a report page must stand alone and run nothing.
import { expect } from 'vitest';

const ALLOWED_TAGS = new Set([
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'h1',
  'h2',
  'h3',
  'p',
  'b',
  'br',
  'span',
  'code',
  'div',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'details',
  'summary',
  'svg',
  'rect',
  'line',
  'path',
  'circle',
  'text',
]);

/** Asserts the page is one HTML document that loads nothing from elsewhere and has no script or handler. */
export function expectSelfContained(html: string): void {
  expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  const tags = new Set([...html.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => m[1]!.toLowerCase()));
  expect([...tags].filter((t) => !ALLOWED_TAGS.has(t))).toEqual([]);
  // Inside tags (escaped data never contains '<'): no event handler, no link to anything.
  expect(html).not.toMatch(/<[^>]*\s(on\w+|src|href)\s*=/i);
  expect(html).not.toMatch(/url\(|@import/i);
}
