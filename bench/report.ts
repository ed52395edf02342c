// Prints one benchmark figure with its baseline and ratio, and merges it into bench/results.json
// (one entry per name and database: a later run of the same benchmark replaces its earlier figure).
// Run directly (`node --import tsx bench/report.ts`) it prints a summary of the file.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const RESULTS_FILE = fileURLToPath(new URL('./results.json', import.meta.url));

export interface Goal {
  /** What the goal bounds: the measured value itself or the ratio to the baseline. */
  on: 'value' | 'ratio';
  op: '>=' | '<=' | '<';
  target: number;
}

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline: string;
  baselineValue: number;
  ratio: number;
  /** Human-readable, e.g. "ratio >= 0.7" or "value < 200 MB". */
  goal?: string;
  goalMet?: boolean;
  database?: 'pglite' | 'postgres';
}

export interface Measurement {
  name: string;
  value: number;
  unit: string;
  baseline: string;
  baselineValue: number;
  /** Defaults to value / baselineValue. */
  ratio?: number;
  goal?: Goal;
  database?: 'pglite' | 'postgres';
  /** Extra figures printed with the line, not stored. */
  notes?: string;
}

function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function met(goal: Goal, value: number, ratio: number): boolean {
  const subject = goal.on === 'value' ? value : ratio;
  switch (goal.op) {
    case '>=':
      return subject >= goal.target;
    case '<=':
      return subject <= goal.target;
    case '<':
      return subject < goal.target;
  }
}

export function readResults(): BenchResult[] {
  if (!existsSync(RESULTS_FILE)) return [];
  try {
    const parsed: unknown = JSON.parse(readFileSync(RESULTS_FILE, 'utf8'));
    return Array.isArray(parsed) ? (parsed as BenchResult[]) : [];
  } catch {
    return [];
  }
}

function describe(result: BenchResult): string {
  const where = result.database ? ` [${result.database}]` : '';
  const verdict = result.goal === undefined ? '' : `  goal ${result.goal}: ${result.goalMet ? 'MET' : 'MISSED'}`;
  return `${result.name}${where}: ${result.value} ${result.unit} vs ${result.baseline} ${result.baselineValue} → ratio ${result.ratio}${verdict}`;
}

export function report(measurement: Measurement): BenchResult {
  const ratio = measurement.ratio ?? measurement.value / measurement.baselineValue;
  const result: BenchResult = {
    name: measurement.name,
    value: round(measurement.value, 2),
    unit: measurement.unit,
    baseline: measurement.baseline,
    baselineValue: round(measurement.baselineValue, 2),
    ratio: round(ratio),
  };
  if (measurement.goal) {
    const { on, op, target } = measurement.goal;
    result.goal = `${on} ${op} ${target}${on === 'value' ? ` ${measurement.unit}` : ''}`;
    result.goalMet = met(measurement.goal, measurement.value, ratio);
  }
  if (measurement.database) result.database = measurement.database;

  console.log(`\n>>> ${describe(result)}`);
  if (measurement.notes) console.log(`    ${measurement.notes}`);

  const others = readResults().filter((r) => !(r.name === result.name && r.database === result.database));
  const temporary = `${RESULTS_FILE}.tmp`;
  writeFileSync(temporary, `${JSON.stringify([...others, result], null, 2)}\n`);
  renameSync(temporary, RESULTS_FILE);
  return result;
}

/** The summary printed at the end of `npm run bench`; exit code 0 whether goals are met or not. */
function printSummary(): void {
  const results = readResults();
  console.log(`\n=== ${results.length} results in ${RESULTS_FILE}`);
  for (const result of results) console.log(`  ${describe(result)}`);
  const missed = results.filter((r) => r.goal !== undefined && !r.goalMet);
  console.log(missed.length === 0 ? '=== all goals met' : `=== ${missed.length} goal(s) MISSED: ${missed.map((r) => `${r.name}${r.database ? `[${r.database}]` : ''}`).join(', ')}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) printSummary();
