// PromQL syntax checks without promtool: Prometheus's own grammar (the Lezer parser its web UI uses,
// https://github.com/prometheus/prometheus/tree/main/web/ui/module/lezer-promql) plus the type rule the grammar leaves
// to the engine that matters most in rules and dashboards: which arguments must be range vectors.
import { parser } from '@prometheus-io/lezer-promql';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** Functions whose argument at the given position must be a range vector (`x[5m]` or a subquery). */
const rangeArgument = new Map<string, number>([
  ['rate', 0],
  ['irate', 0],
  ['increase', 0],
  ['delta', 0],
  ['idelta', 0],
  ['deriv', 0],
  ['changes', 0],
  ['resets', 0],
  ['predict_linear', 0],
  ['holt_winters', 0],
  ['double_exponential_smoothing', 0],
  ['avg_over_time', 0],
  ['min_over_time', 0],
  ['max_over_time', 0],
  ['sum_over_time', 0],
  ['count_over_time', 0],
  ['stddev_over_time', 0],
  ['stdvar_over_time', 0],
  ['last_over_time', 0],
  ['first_over_time', 0],
  ['present_over_time', 0],
  ['absent_over_time', 0],
  ['mad_over_time', 0],
  ['ts_of_min_over_time', 0],
  ['ts_of_max_over_time', 0],
  ['ts_of_last_over_time', 0],
  ['ts_of_first_over_time', 0],
  ['quantile_over_time', 1],
]);

/** The expression inside any parentheses. */
const unwrap = (node: SyntaxNode): SyntaxNode => {
  let n = node;
  while (n.name === 'ParenExpr' && n.firstChild) n = n.firstChild;
  return n;
};

const isRange = (node: SyntaxNode): boolean => ['MatrixSelector', 'SubqueryExpr'].includes(unwrap(node).name);

/** The arguments of a FunctionCall: the expressions inside its FunctionCallBody. */
function callArguments(call: SyntaxNode): SyntaxNode[] {
  const body = call.getChild('FunctionCallBody');
  const out: SyntaxNode[] = [];
  for (let c = body?.firstChild ?? null; c; c = c.nextSibling) out.push(c);
  return out;
}

/**
 * Every problem of one PromQL expression, each naming its offset and the text there; empty when it parses. A syntax
 * error, an unknown function, a range vector where an instant vector belongs (`sum(x[5m])`) and an instant vector
 * where a range function needs a range (`rate(x)`) are problems.
 */
export function promqlProblems(expr: string): string[] {
  const problems: string[] = [];
  const at = (from: number, to: number) =>
    `at offset ${from} (${JSON.stringify(expr.slice(Math.max(0, from - 12), Math.max(to, from + 12)))})`;
  if (expr.trim() === '') return ['empty expression'];
  const tree = parser.parse(expr);
  const ranges = new Set<number>();
  tree.iterate({
    enter: (ref) => {
      if (ref.type.isError) {
        problems.push(`syntax error ${at(ref.from, ref.to)}`);
        return false;
      }
      if (ref.name !== 'FunctionCall') return undefined;
      const node = ref.node;
      const ident = node.getChild('FunctionIdentifier');
      const name = ident ? expr.slice(ident.from, ident.to) : '?';
      const args = callArguments(node);
      const position = rangeArgument.get(name);
      if (position === undefined) return undefined;
      const arg = args[position];
      if (!arg) problems.push(`${name}() needs argument ${position + 1} ${at(node.from, node.to)}`);
      else if (!isRange(arg)) problems.push(`${name}() needs a range vector ${at(arg.from, arg.to)}`);
      else ranges.add(unwrap(arg).from);
      return undefined;
    },
  });
  // A range vector anywhere else (an aggregation, a binary operator, the top level) is a type error.
  tree.iterate({
    enter: (ref) => {
      if (ref.type.isError) return false;
      if ((ref.name === 'MatrixSelector' || ref.name === 'SubqueryExpr') && !ranges.has(ref.from))
        problems.push(`range vector where an instant vector belongs ${at(ref.from, ref.to)}`);
      return undefined;
    },
  });
  return problems;
}
