// Turns section results into the printed table and bench/out/results.json.
import { ratioCI, summarize } from './stats.mjs';

const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '—');

// Adds stats and ratios to a section's rows in place. Ratio = reference median / row median
// ("nsbox ÷ peer": below 1.0 means the reference (nsbox) is faster than that row).
export function finishSection(section) {
  for (const row of section.rows ?? []) {
    if (row.samples?.length) Object.assign(row, summarize(row.samples));
  }
  const byName = (name) => (section.rows ?? []).find((r) => r.name === name && Number.isFinite(r.median));
  for (const row of section.rows ?? []) {
    // a row may name its own reference (e.g. detach rows against 'nsbox detach')
    const ref = byName(row.reference ?? section.reference);
    if (!ref || row === ref || row.baseline || !Number.isFinite(row.median)) continue;
    // ratioMode 'row/ref': how many times the reference this row takes (overhead sections).
    const inverse = section.ratioMode === 'row/ref';
    row.ratio = inverse ? row.median / ref.median : ref.median / row.median;
    row.ratioCI = inverse ? ratioCI(row.samples, ref.samples) : ratioCI(ref.samples, row.samples);
  }
  return section;
}

export function formatSection(section) {
  const out = [];
  out.push('');
  out.push(`## ${section.title}`);
  if (section.skipped) {
    out.push(`   skipped: ${section.skipped}`);
    for (const n of section.notes ?? []) out.push(`   - ${n}`);
    return out.join('\n');
  }
  const rows = section.rows ?? [];
  if (rows.length) {
    const refName = section.reference ?? '(none)';
    const header = ['', 'runs', 'median ms', 'p90 ms', 'min ms', section.ratioMode === 'row/ref' ? 'row/ref' : 'nsbox/row', '95% CI', ''];
    const body = rows.map((r) =>
      r.skipped
        ? [r.name, '', '', '', '', '', '', `skipped: ${r.skipped}`]
        : [
            r.name,
            String(r.runs ?? 0),
            f(r.median),
            f(r.p90),
            f(r.min),
            r.name === refName || rows.some((o) => o.reference === r.name) ? '1.00 (ref)' : Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : '—',
            r.ratioCI ? `${r.ratioCI[0].toFixed(2)}–${r.ratioCI[1].toFixed(2)}` : '',
            r.note ?? '',
          ],
    );
    const widths = header.map((h, i) => (i === header.length - 1 ? 0 : Math.max(h.length, ...body.map((b) => b[i].length))));
    const line = (cells) =>
      '   ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : i === cells.length - 1 ? c : c.padStart(widths[i]))).join('  ').trimEnd();
    out.push(line(header));
    for (const b of body) out.push(line(b));
  }
  for (const n of section.notes ?? []) out.push(`   - ${n}`);
  return out.join('\n');
}
