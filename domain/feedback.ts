/** A late label for one logged prediction, as the client sends it. */
export interface FeedbackItem {
  readonly requestId: string;
  readonly label: string | number | boolean;
}

/** One problem with a feedback body, named by its field path (`items.3.label`). */
export interface FeedbackProblem {
  readonly field: string;
  readonly problem: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a feedback body: one `{ "requestId", "label" }`, an array of them, or `{ "items": [...] }`. Returns the
 * items with the field path of each, or every shape problem by path.
 */
export function parseFeedbackBody(
  body: unknown,
  maxItems: number,
): { items: FeedbackItem[]; paths: string[] } | { problems: FeedbackProblem[] } {
  const problems: FeedbackProblem[] = [];
  let list: unknown[];
  let prefix: (i: number) => string;
  if (Array.isArray(body)) {
    list = body;
    prefix = (i) => `${i}`;
  } else if (isPlainObject(body) && 'items' in body) {
    for (const key of Object.keys(body))
      if (key !== 'items') problems.push({ field: key, problem: 'unknown field; a batch has "items" only' });
    if (!Array.isArray(body.items))
      return { problems: [...problems, { field: 'items', problem: 'expected an array' }] };
    list = body.items;
    prefix = (i) => `items.${i}`;
  } else if (isPlainObject(body)) {
    list = [body];
    prefix = () => '';
  } else {
    return {
      problems: [
        {
          field: '(body)',
          problem: 'expected {"requestId", "label"}, an array of them, or {"items": [...]}',
        },
      ],
    };
  }
  if (list.length === 0)
    return { problems: [{ field: prefix(0).replace(/\.?0$/, '') || '(body)', problem: 'no labels' }] };
  if (list.length > maxItems)
    return {
      problems: [
        { field: 'items', problem: `${list.length} labels is over the cap of ${maxItems} a request` },
      ],
    };
  const items: FeedbackItem[] = [];
  const paths: string[] = [];
  const at = (path: string, field: string) => (path ? `${path}.${field}` : field);
  list.forEach((raw, i) => {
    const path = prefix(i);
    if (!isPlainObject(raw)) {
      problems.push({ field: path || '(body)', problem: 'expected an object {"requestId", "label"}' });
      return;
    }
    for (const key of Object.keys(raw))
      if (key !== 'requestId' && key !== 'label')
        problems.push({ field: at(path, key), problem: 'unknown field' });
    const { requestId, label } = raw;
    let ok = true;
    if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 200) {
      problems.push({
        field: at(path, 'requestId'),
        problem: 'expected the request id the gateway answered with',
      });
      ok = false;
    }
    if (
      !(
        typeof label === 'string' ||
        typeof label === 'boolean' ||
        (typeof label === 'number' && Number.isFinite(label))
      ) ||
      (typeof label === 'string' && (label.length === 0 || label.length > 200))
    ) {
      problems.push({
        field: at(path, 'label'),
        problem: `expected a class label (a string, number or boolean), got ${label === null ? 'null' : Array.isArray(label) ? 'an array' : typeof label}`,
      });
      ok = false;
    }
    if (ok) {
      items.push({ requestId: requestId as string, label: label as string | number | boolean });
      paths.push(path);
    }
  });
  return problems.length > 0 ? { problems } : { items, paths };
}

/**
 * Which class a sent label names: `positive`, `negative`, or undefined when it is neither. A number or boolean
 * matches the class written the same way (1 matches "1" and "1.0"; true matches "true").
 */
export function labelClass(
  label: string | number | boolean,
  classes: readonly [negative: string, positive: string],
): 'positive' | 'negative' | undefined {
  const text = String(label);
  const same = (c: string) =>
    c === text ||
    (typeof label !== 'boolean' &&
      c.trim() !== '' &&
      text.trim() !== '' &&
      Number.isFinite(Number(c)) &&
      Number(c) === Number(text));
  if (same(classes[1])) return 'positive';
  if (same(classes[0])) return 'negative';
  return undefined;
}
