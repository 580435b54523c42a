// What a PromQL expression refers to: the metric names and, per selector, the label names it matches on. Enough of
// PromQL's lexical structure to check dashboards and alert rules against the metrics the code registers;
// promql-parse.ts checks the syntax itself.

const keywords = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

export interface PromqlReferences {
  readonly metrics: Set<string>;
  /** Selector `metric{label=...}`: the metric and the labels its matchers name. */
  readonly selectors: { metric: string; labels: string[] }[];
  /** Labels named in by/without/on/ignoring/group_* clauses. */
  readonly groupingLabels: Set<string>;
}

export function promqlReferences(expr: string): PromqlReferences {
  const selectors: { metric: string; labels: string[] }[] = [];
  const groupingLabels = new Set<string>();
  let text = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  text = text.replace(
    /([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g,
    (_, metric: string | undefined, body: string) => {
      const labels = [...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((m) => m[1]!);
      if (metric && !keywords.has(metric)) selectors.push({ metric, labels });
      return metric ?? '';
    },
  );
  text = text.replace(
    /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_, _k: string, body: string) => {
      for (const l of body
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean))
        groupingLabels.add(l);
      return ' ';
    },
  );
  text = text.replace(/\[[^\]]*\]/g, ' ');
  text = text.replace(/\b[a-zA-Z_][a-zA-Z0-9_]*\s*\(/g, '(');
  const metrics = new Set<string>();
  for (const m of text.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = m[0];
    if (keywords.has(name.toLowerCase())) continue;
    // Durations and numbers in scientific notation look like identifiers only after a digit: skip those.
    const before = text[m.index - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue;
    metrics.add(name);
  }
  for (const s of selectors) metrics.add(s.metric);
  return { metrics, selectors, groupingLabels };
}

/** PromQL inside Prometheus template annotations: `{{ with query "..." }}`. */
export function templateQueries(text: string): string[] {
  return [...text.matchAll(/query\s+"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\"/g, '"'));
}
