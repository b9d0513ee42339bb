import { labelNames, labelsAdded, metricNames, promqlProblems } from '../../harness/promql-names';

/** The crude PromQL reading the deploy tests rely on, pinned on real expressions. */
describe('metricNames', () => {
  test('a histogram quantile names only the bucket series', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le, source) (rate(x_bucket[5m])))')).toEqual(['x_bucket']);
  });

  test('matchers, template variables, ranges and numbers are not names', () => {
    expect(metricNames('sum by (dc, topic) (tandem_sink_consumer_lag{dc=~"$dc", topic!="x"}) > 100000')).toEqual(['tandem_sink_consumer_lag']);
    expect(metricNames('rate(tandem_process_cpu_seconds_total{dc=~"$dc"}[$__rate_interval])')).toEqual(['tandem_process_cpu_seconds_total']);
    expect(metricNames('max by (dc) (tandem_source_buffered_bytes) > 48 * 1024 * 1024 + 1e3 - 0x10 + 2.5')).toEqual(['tandem_source_buffered_bytes']);
  });

  test('digits inside a name stay part of it', () => {
    expect(metricNames('tandem_nodejs_eventloop_lag_p99_seconds{dc="a"}')).toEqual(['tandem_nodejs_eventloop_lag_p99_seconds']);
  });

  test('string arguments, label lists and keywords are not names', () => {
    const expr = 'label_replace(sum by (dc, topic) (tandem_sink_consumer_lag{dc=~"$dc"}), "source", "$1", "topic", "tandem[.](.+)[.]changes")';
    expect(metricNames(expr)).toEqual(['tandem_sink_consumer_lag']);
    expect(metricNames('a / on (x) group_left (y) b offset 1h30m')).toEqual(['a', 'b']);
    expect(metricNames('a > bool 0.5 unless ignoring (z) c or d and e')).toEqual(['a', 'c', 'd', 'e']);
    expect(metricNames('sum(rate(foo_total[5m])) by (bar) > Inf or NaN')).toEqual(['foo_total']);
  });

  test('the full-resync rule names its counter and the process start time', () => {
    const expr = `sum by (dc, link, reason) (increase(tandem_source_full_resyncs_total{reason!="no-checkpoint"}[15m])) > 0
      or sum by (dc, link, reason) (tandem_source_full_resyncs_total{reason!="no-checkpoint"} unless tandem_source_full_resyncs_total offset 15m)
      or sum by (dc, link, reason) (tandem_source_full_resyncs_total > 0 and on (dc, job, instance) (time() - tandem_process_start_time_seconds < 900))`;
    expect(metricNames(expr)).toEqual(['tandem_source_full_resyncs_total', 'tandem_process_start_time_seconds']);
  });

  test('Prometheus\'s own up is a name like any other', () => {
    expect(metricNames('up{job=~"tandem.*"} == 0')).toEqual(['up']);
  });
});

describe('promqlProblems', () => {
  test('a well-formed expression has none', () => {
    expect(promqlProblems('histogram_quantile(0.99, sum by (le, source) (rate(x_bucket{a="("}[5m])))')).toEqual([]);
    expect(promqlProblems('sum(increase(x[10m:1m])) > 0')).toEqual([]);
  });

  test('unbalanced brackets are found', () => {
    expect(promqlProblems('sum(rate(x[5m])')).toEqual(['unbalanced: ) missing at the end']);
    expect(promqlProblems('x{a="b"]')).toEqual(['unbalanced: found ] where } was expected']);
  });

  test('rate and increase without a range are found', () => {
    expect(promqlProblems('sum(rate(x))')).toEqual(['rate() without a [range]']);
    expect(promqlProblems('increase(x{a="[5m]"})')).toEqual(['increase() without a [range]']);
    expect(promqlProblems('max_over_time(x[5m]) + irate(y[1m])')).toEqual([]);
  });
});

describe('labelNames and labelsAdded', () => {
  test('labels come from matchers, groupings and label_replace', () => {
    const expr = 'label_replace(sum by (dc, topic) (x{dc=~"$dc", state!="a,b"}), "source", "$1", "topic", "t[.](.+)")';
    expect(labelNames(expr).sort()).toEqual(['dc', 'state', 'topic']);
    expect(labelsAdded(expr)).toEqual(['source']);
    expect(labelNames('a and on (dc, job) b / ignoring (le) group_left (kind) c').sort()).toEqual(['dc', 'job', 'kind', 'le']);
  });
});
