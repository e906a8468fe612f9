/**
 * A hand-written SVG chart: overhead to first visible token and event-loop lag against the number
 * of answers streaming at once, for the bot and the naive baseline.
 */

export interface ChartPoint {
  concurrency: number;
  bot: {
    overheadP50: number | null;
    overheadP99: number | null;
    /** The bot's own part: from its receipt of the event. */
    ownOverheadP99?: number | null;
    lagP99: number | null;
  };
  naive: { overheadP50: number | null; overheadP99: number | null; lagP99: number | null } | null;
}

interface Series {
  label: string;
  color: string;
  dashed: boolean;
  values: Array<number | null>;
}

const WIDTH = 1000;
const HEIGHT = 420;
const PANEL_WIDTH = 400;
const PANEL_HEIGHT = 270;
const TOP = 70;

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}

/** A round upper bound for the axis: 1, 2 or 5 times a power of ten. */
function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** Log-scaled y when the values span more than two decades, else linear from 0. */
function panel(
  left: number,
  title: string,
  unit: string,
  xLabels: string[],
  series: Series[],
  limit: { value: number; label: string } | null,
): string {
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null && v >= 0));
  if (limit) all.push(limit.value);
  const positive = all.filter((v) => v > 0);
  const maxValue = niceMax(Math.max(1, ...all));
  const minPositive = positive.length ? Math.min(...positive) : 1;
  const useLog = maxValue / Math.max(minPositive, 0.01) > 200;
  const logMin = useLog ? 10 ** Math.floor(Math.log10(Math.max(minPositive, 0.1))) : 0;
  const y = (value: number) => {
    if (useLog) {
      const v = Math.max(value, logMin);
      return (
        TOP +
        PANEL_HEIGHT -
        ((Math.log10(v) - Math.log10(logMin)) / (Math.log10(maxValue) - Math.log10(logMin))) * PANEL_HEIGHT
      );
    }
    return TOP + PANEL_HEIGHT - (value / maxValue) * PANEL_HEIGHT;
  };
  const x = (index: number) =>
    left + (xLabels.length === 1 ? PANEL_WIDTH / 2 : (index / (xLabels.length - 1)) * PANEL_WIDTH);
  const parts: string[] = [];
  parts.push(
    `<text x="${left + PANEL_WIDTH / 2}" y="${TOP - 28}" text-anchor="middle" class="title">${escapeXml(title)}</text>`,
  );
  // Grid and y ticks.
  const ticks: number[] = [];
  if (useLog) {
    for (let v = logMin; v <= maxValue * 1.0001; v *= 10) ticks.push(v);
  } else {
    for (let i = 0; i <= 5; i += 1) ticks.push((maxValue * i) / 5);
  }
  for (const tick of ticks) {
    const ty = y(tick);
    parts.push(`<line x1="${left}" y1="${ty}" x2="${left + PANEL_WIDTH}" y2="${ty}" class="grid"/>`);
    parts.push(
      `<text x="${left - 8}" y="${ty + 4}" text-anchor="end" class="tick">${tick >= 10 ? Math.round(tick) : tick.toFixed(1)}</text>`,
    );
  }
  parts.push(
    `<text x="${left - 48}" y="${TOP + PANEL_HEIGHT / 2}" text-anchor="middle" class="axis" transform="rotate(-90 ${left - 48} ${TOP + PANEL_HEIGHT / 2})">${escapeXml(unit)}${useLog ? ' (log scale)' : ''}</text>`,
  );
  xLabels.forEach((label, index) => {
    parts.push(
      `<text x="${x(index)}" y="${TOP + PANEL_HEIGHT + 20}" text-anchor="middle" class="tick">${escapeXml(label)}</text>`,
    );
  });
  parts.push(
    `<text x="${left + PANEL_WIDTH / 2}" y="${TOP + PANEL_HEIGHT + 42}" text-anchor="middle" class="axis">answers streaming at once</text>`,
  );
  parts.push(`<rect x="${left}" y="${TOP}" width="${PANEL_WIDTH}" height="${PANEL_HEIGHT}" class="frame"/>`);
  if (limit) {
    const ly = y(limit.value);
    parts.push(`<line x1="${left}" y1="${ly}" x2="${left + PANEL_WIDTH}" y2="${ly}" class="limit"/>`);
    // Below the line when it runs along the top of the panel.
    const labelY = ly - TOP < 20 ? ly + 14 : ly - 5;
    parts.push(
      `<text x="${left + PANEL_WIDTH - 4}" y="${labelY}" text-anchor="end" class="limitText">${escapeXml(limit.label)}</text>`,
    );
  }
  for (const s of series) {
    const points = s.values.map((value, index) =>
      value === null ? null : `${x(index).toFixed(1)},${y(value).toFixed(1)}`,
    );
    const segments: string[][] = [[]];
    for (const point of points) {
      if (point === null) segments.push([]);
      else segments.at(-1)?.push(point);
    }
    for (const segment of segments) {
      if (segment.length > 1) {
        parts.push(
          `<polyline points="${segment.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
        );
      }
    }
    s.values.forEach((value, index) => {
      if (value !== null)
        parts.push(
          `<circle cx="${x(index).toFixed(1)}" cy="${y(value).toFixed(1)}" r="3.5" fill="${s.color}"/>`,
        );
    });
  }
  return parts.join('\n');
}

export function concurrencyChart(points: ChartPoint[], subtitle: string): string {
  const sorted = [...points].sort((a, b) => a.concurrency - b.concurrency);
  const labels = sorted.map((p) => String(p.concurrency));
  const hasNaive = sorted.some((p) => p.naive !== null);
  const overhead: Series[] = [
    { label: 'bot p50', color: '#1264a3', dashed: false, values: sorted.map((p) => p.bot.overheadP50) },
    { label: 'bot p99', color: '#1264a3', dashed: true, values: sorted.map((p) => p.bot.overheadP99) },
  ];
  if (sorted.some((p) => p.bot.ownOverheadP99 != null)) {
    overhead.push({
      label: 'bot p99 from receipt',
      color: '#36c5f0',
      dashed: true,
      values: sorted.map((p) => p.bot.ownOverheadP99 ?? null),
    });
  }
  const lag: Series[] = [
    { label: 'bot p99', color: '#1264a3', dashed: false, values: sorted.map((p) => p.bot.lagP99) },
  ];
  if (hasNaive) {
    overhead.push(
      {
        label: 'naive p50',
        color: '#e01e5a',
        dashed: false,
        values: sorted.map((p) => p.naive?.overheadP50 ?? null),
      },
      {
        label: 'naive p99',
        color: '#e01e5a',
        dashed: true,
        values: sorted.map((p) => p.naive?.overheadP99 ?? null),
      },
    );
    lag.push({
      label: 'naive p99',
      color: '#e01e5a',
      dashed: false,
      values: sorted.map((p) => p.naive?.lagP99 ?? null),
    });
  }
  const legend = [...overhead]
    .map((s, index) => {
      const lx = 60 + index * 185;
      return `<line x1="${lx}" y1="${HEIGHT - 22}" x2="${lx + 28}" y2="${HEIGHT - 22}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="${lx + 34}" y="${HEIGHT - 18}" class="tick">${escapeXml(s.label)}</text>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif">
<style>
.title { font-size: 15px; font-weight: bold; fill: #1d1c1d; }
.subtitle { font-size: 12px; fill: #616061; }
.tick { font-size: 11px; fill: #616061; }
.axis { font-size: 12px; fill: #1d1c1d; }
.grid { stroke: #e8e8e8; stroke-width: 1; }
.frame { fill: none; stroke: #bbbbbb; stroke-width: 1; }
.limit { stroke: #2bac76; stroke-width: 1.5; stroke-dasharray: 3 3; }
.limitText { font-size: 11px; fill: #2bac76; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="${WIDTH / 2}" y="20" text-anchor="middle" class="subtitle">${escapeXml(subtitle)}</text>
${panel(80, 'Overhead to first visible token', 'milliseconds', labels, overhead, { value: 100, label: 'target p99 ≤ 100 ms' })}
${panel(80 + PANEL_WIDTH + 100, 'Event-loop lag p99', 'milliseconds', labels, lag, { value: 50, label: 'target ≤ 50 ms (at 500)' })}
${legend}
<text x="${80 + PANEL_WIDTH + 100 + PANEL_WIDTH / 2}" y="${TOP - 12}" text-anchor="middle" class="tick">blue: the bot's process, red: the naive baseline's</text>
</svg>
`;
}
