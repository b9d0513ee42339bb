/**
 * A crude reading of PromQL, enough to check the dashboard and the alert rules
 * against what the services export (test/unit/deploy, test/integration/deploy).
 * It is not a parser: it strips what cannot be a metric name and keeps the
 * identifiers that remain.
 *
 *   expr      := … metric-name [ "{" matchers "}" ] [ "[" range "]" ] [ offset DURATION ] …
 *   grouping  := ( by | without | on | ignoring | group_left | group_right ) "(" labels ")"
 *   call      := identifier "(" args ")"          -- an identifier before "(" is a function
 *
 * A metric named only by `{__name__="…"}` is not seen.
 */

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);
const STRING = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;
const GROUPING = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)/g;
const NUMBER_OR_DURATION = /(?<![\w:])(?:0x[0-9a-f]+|\d+(?:\.\d*)?(?:e[+-]?\d+)?(?:(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)?)(?![\w:])/gi;
const IDENTIFIER = /[a-zA-Z_:][a-zA-Z0-9_:]*/g;

/** The expression without string literals, label matchers, ranges, groupings and numbers. */
function strip(expr: string): string {
  return expr
    .replace(STRING, ' ')
    .replace(/\{[^{}]*\}/g, ' ')
    .replace(/\[[^[\]]*\]/g, ' ')
    .replace(GROUPING, ' ')
    .replace(NUMBER_OR_DURATION, ' ');
}

/** The metric names an expression selects, each once, in order of appearance. */
export function metricNames(expr: string): string[] {
  const s = strip(expr);
  const names: string[] = [];
  for (const m of s.matchAll(IDENTIFIER)) {
    const name = m[0];
    const after = s.slice(m.index + name.length);
    if (/^\s*\(/.test(after)) continue; // a function or an aggregation
    if (KEYWORDS.has(name.toLowerCase())) continue;
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** Functions whose argument must be a range vector. */
const RANGE_FUNCTIONS = /\b(rate|irate|increase|delta|idelta|deriv|resets|changes|predict_linear|holt_winters|[a-z]+_over_time)\s*\(/g;

/**
 * What is obviously wrong with an expression: unbalanced ( [ { outside
 * strings, or a rate()/increase()/… whose argument has no [range]. Empty when
 * nothing is.
 */
export function promqlProblems(expr: string): string[] {
  const problems: string[] = [];
  const s = expr.replace(STRING, '""');
  const closing: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
  const stack: string[] = [];
  for (const c of s) {
    if (c in closing) stack.push(closing[c]);
    else if (c === ')' || c === ']' || c === '}') {
      const want = stack.pop();
      if (want !== c) {
        problems.push(`unbalanced: found ${c} where ${want ?? 'nothing'} was expected`);
        break;
      }
    }
  }
  if (problems.length === 0 && stack.length > 0) problems.push(`unbalanced: ${stack.reverse().join('')} missing at the end`);
  for (const m of s.matchAll(RANGE_FUNCTIONS)) {
    const open = m.index + m[0].length - 1;
    let depth = 0;
    let end = open;
    for (; end < s.length; end++) {
      if (s[end] === '(') depth++;
      else if (s[end] === ')' && --depth === 0) break;
    }
    if (!s.slice(open, end).includes('[')) problems.push(`${m[1]}() without a [range]`);
  }
  return problems;
}

/**
 * The labels an expression names: in matchers {a="…"}, in by/without/on/
 * ignoring/group_left/group_right (…), and the source label of label_replace.
 */
export function labelNames(expr: string): string[] {
  const s = expr.replace(STRING, (lit) => lit.replace(/[{}()[\],=~!]/g, ' '));
  const labels = new Set<string>();
  for (const block of s.matchAll(/\{([^{}]*)\}/g)) {
    for (const m of block[1].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) labels.add(m[1]);
  }
  for (const g of s.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)/g)) {
    for (const l of g[1].split(',').map((x) => x.trim()).filter(Boolean)) labels.add(l);
  }
  for (const args of callArgs(expr, 'label_replace')) if (args[3]) labels.add(unquote(args[3]));
  return [...labels];
}

/** Labels that label_replace(v, "dst", …) adds: they exist without any metric having them. */
export function labelsAdded(expr: string): string[] {
  return callArgs(expr, 'label_replace').map((args) => unquote(args[1] ?? ''));
}

/** The top-level arguments of every call of `fn`, as written. */
function callArgs(expr: string, fn: string): string[][] {
  const calls: string[][] = [];
  for (const m of expr.matchAll(new RegExp(`\\b${fn}\\s*\\(`, 'g'))) {
    const args: string[] = [];
    let depth = 0;
    let quote = '';
    let start = m.index + m[0].length;
    for (let i = start; i < expr.length; i++) {
      const c = expr[i];
      if (quote) {
        if (c === '\\') i++;
        else if (c === quote) quote = '';
      } else if (c === '"' || c === "'" || c === '`') quote = c;
      else if (c === '(' || c === '[' || c === '{') depth++;
      else if ((c === ')' || c === ']' || c === '}') && depth > 0) depth--;
      else if (c === ')' || (c === ',' && depth === 0)) {
        args.push(expr.slice(start, i).trim());
        start = i + 1;
        if (c === ')') break;
      }
    }
    calls.push(args);
  }
  return calls;
}

const unquote = (s: string) => s.replace(/^["'`]|["'`]$/g, '');
