// What a stored metric is, for the reader: a one-line description and its unit (shown beside every
// chart and as the metric menu's tooltip), the fixed colour/axis range of bounded metrics (shares,
// rates, probabilities, cosines: a 0.07 sink score must not be painted as the maximum because it
// happens to be the largest value at this step), and which rows are a run's metadata (the example
// an analysis looked at, its threshold, the number of layers), which are kept out of metric menus
// and generic charts.
// Definitions follow docs/METHODS.md "Attention sinks", docs/METHODS.md "Massive activations" and
// docs/METHODS.md "In-context behaviour"; a metric not listed here is still drawn, with its name only.

import type { MetricKey } from '../../../preload/api.ts';

export interface MetricInfo {
  /** One line: what the number is. */
  text: string;
  /** Its unit ('' for a dimensionless number). */
  unit: string;
  /** The fixed range of a bounded metric, drawn on that scale rather than the data's. */
  range?: { min: number; max: number };
  /** A chance baseline to draw as a line (e.g. 0.5 for a two-way choice). */
  chance?: number;
}

const UNIT = { min: 0, max: 1 };
const COS = { min: -1, max: 1 };

/** Rows that describe the run rather than measure the model (the analysis wrote them for the record). */
const METADATA = new Set([
  'attention|example',
  'attention|example_tokens',
  'massive|num_layers',
  'sinks|sink_eps',
  'behaviour|induction_runs',
  'behaviour|ioi_prompts',
  'behaviour|year_prompts',
  'means|bucket_edge',
  'means|bucket_sequences',
  'means|tokens',
  'model|tokens',
]);

const INFO: Record<string, MetricInfo> = {
  'model|loss': { text: 'mean next-token cross-entropy over the masked tokens', unit: 'nats' },
  'profile|rms': { text: 'root mean square of the activation over features', unit: '' },
  'profile|mean_norm': { text: 'mean L2 norm of the activation vector', unit: '' },
  'profile|mean_abs': { text: 'mean |a| over features', unit: '' },
  'profile|absmax': { text: 'largest |a| over features', unit: '' },
  'profile|kurtosis': { text: 'kurtosis of the activation over features (3 for a Gaussian)', unit: '' },
  'profile|max_abs': { text: 'largest |a| over features', unit: '' },
  'profile|removed_share': {
    text: 'share of the mean square removed by subtracting the mean store',
    unit: 'share',
    range: UNIT,
  },
  'massive|top1': { text: 'largest |a| in the layer (Sun et al. 2024)', unit: '' },
  'massive|top2': { text: 'second largest |a| in the layer', unit: '' },
  'massive|top3': { text: 'third largest |a| in the layer', unit: '' },
  'massive|median': { text: 'median |a| in the layer', unit: '' },
  'massive|removed_share': { text: '1 - centred top-1 / top-1', unit: 'share', range: UNIT },
  'sinks|sink_score': {
    text: 'alpha_1: mean attention of the queries to the first key (Gu et al. 2025)',
    unit: 'probability',
    range: UNIT,
  },
  'sinks|sink_rate': {
    text: "share of (sequence, head) pairs with alpha_1 > eps, as Gu et al.'s code computes it",
    unit: 'share',
    range: UNIT,
  },
  'sinks|sink_head_rate': {
    text: 'share of heads whose mean alpha_1 over sequences exceeds eps',
    unit: 'share',
    range: UNIT,
  },
  'sinks|sink_seq_rate': {
    text: 'share of sequences in which this head has alpha_1 > eps',
    unit: 'share',
    range: UNIT,
  },
  'sinks|entropy': { text: 'mean attention entropy of a query row', unit: 'nats' },
  'sinks|sink_norm': { text: 'A_i0 ||f(x_0)||: norm-based contribution of the first key', unit: '' },
  'sinks|sink_norm_share': {
    text: "the first key's share of the norm-based contributions (Kobayashi et al. 2020)",
    unit: 'share',
    range: UNIT,
  },
  'sinks|score_gap': { text: "pre-softmax score of the first key minus the row's mean", unit: 'logit' },
  'sinks|first_share': { text: 'attention on the first key', unit: 'share', range: UNIT },
  'sinks|prev_share': { text: 'attention on the previous key', unit: 'share', range: UNIT },
  'sinks|delim_share': { text: 'attention on other delimiter keys', unit: 'share', range: UNIT },
  'sinks|rest_share': { text: 'attention on the remaining keys', unit: 'share', range: UNIT },
  'sinks|loss_base': { text: 'loss of the unchanged model', unit: 'nats' },
  'attention|recovery_error': {
    text: 'largest error of the logits recovered from the probabilities (a numerical check)',
    unit: 'logit',
  },
  'grads|grad_rms': { text: 'root mean square of the loss gradient at the site', unit: '' },
  'grads|grad_mean_norm': { text: 'norm of the mean loss gradient at the site', unit: '' },
  'grads|param_grad_norm': { text: "norm of the layer's parameter gradient", unit: '' },
  'behaviour|induction_score': {
    text: 'loss on the first half of a repeated sequence minus the loss on the second',
    unit: 'nats',
  },
  'behaviour|induction_loss_first': {
    text: 'loss on the first occurrence of the repeated tokens',
    unit: 'nats',
  },
  'behaviour|induction_loss_second': { text: 'loss on the repeat', unit: 'nats' },
  'behaviour|ioi_accuracy': {
    text: 'share of IOI prompts where the indirect object beats the subject',
    unit: 'share',
    range: UNIT,
    chance: 0.5,
  },
  'behaviour|ioi_logit_diff': {
    text: 'logit(indirect object) - logit(subject) at the last position',
    unit: 'logit',
    chance: 0,
  },
  'behaviour|year_greater_prob': {
    text: 'probability mass on years after the one in the prompt',
    unit: 'probability',
    range: UNIT,
  },
};

/** grads' example-vs-rest statistics: cosines of gradient-rms profiles over layers, not of directions. */
function gradsProfile(metric: string): MetricInfo | undefined {
  const m = /^example_overall_(cosine|spearman)_(mean|min|q10|q50|q90)$/.exec(metric);
  if (!m) return undefined;
  const what = m[1] === 'cosine' ? 'cosine' : 'Spearman correlation';
  return {
    text: `${m[2]} over examples of the ${what} between an example's per-layer gradient-rms profile and the rest's (profile shape, not gradient direction: near 1 when every example's gradient grows and shrinks over depth alike)`,
    unit: '',
    range: COS,
  };
}

/** What a metric is (a removal's `mask_first:first_share` reads as its share). */
export function metricInfo(analysis: string, metric: string): MetricInfo | undefined {
  const base = metric.includes(':') ? metric.slice(metric.indexOf(':') + 1) : metric;
  const centred = base.startsWith('centred_') ? base.slice('centred_'.length) : base;
  return (
    INFO[`${analysis}|${metric}`] ??
    INFO[`${analysis}|${base}`] ??
    INFO[`${analysis}|${centred}`] ??
    (analysis === 'grads' ? gradsProfile(metric) : undefined)
  );
}

/** "description (unit)", or '' when the metric is not described. */
export function describeMetric(analysis: string, metric: string): string {
  const i = metricInfo(analysis, metric);
  return i ? `${i.text}${i.unit ? ` (${i.unit})` : ''}` : '';
}

/** The fixed range of a bounded metric, else undefined (the data's range is used). */
export function fixedRange(analysis: string, metric: string): { min: number; max: number } | undefined {
  return metricInfo(analysis, metric)?.range;
}

/** Whether a key is a run's metadata rather than a measurement. */
export function isMetadata(k: Pick<MetricKey, 'analysis' | 'metric'>): boolean {
  return METADATA.has(`${k.analysis}|${k.metric}`);
}

/**
 * The keys to chart and to offer in metric menus: the measurements, not the run's metadata (panels
 * that read metadata, such as the mean store's buckets, still get every key).
 */
export function chartableKeys<K extends Pick<MetricKey, 'analysis' | 'metric'>>(keys: readonly K[]): K[] {
  return keys.filter((k) => !isMetadata(k));
}
