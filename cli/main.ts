/**
 * The `attention-kit` command line. Each subcommand lives in cli/commands/<name>.ts and exports
 * `summary` and `main(args)`; they are loaded lazily so that `run` does not pay for TensorFlow.js.
 */
type Command = { summary: string; main: (args: string[]) => Promise<number> };

const COMMANDS: Record<string, () => Promise<Command>> = {
  run: () => import('./commands/run.js'),
  doctor: () => import('./commands/doctor.js'),
  lab: () => import('./commands/lab.js'),
  bench: () => import('./commands/bench.js'),
  release: () => import('./commands/release.js'),
  check: () => import('./commands/check.js'),
  grade: () => import('./commands/grade.js'),
  gradescope: () => import('./commands/gradescope.js'),
  site: () => import('./commands/site.js'),
};

/** Lets other modules add commands (bench, grade, …) without editing this table. */
export function registerCommand(name: string, load: () => Promise<Command>): void {
  COMMANDS[name] = load;
}

async function usage(): Promise<string> {
  const lines = ['usage: attention-kit <command> [args]', '', 'commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    const { summary } = await load();
    lines.push(`  ${name.padEnd(12)} ${summary}`);
  }
  return lines.join('\n');
}

export async function cli(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name ? 0 : 1;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`attention-kit: unknown command '${name}'\n\n${await usage()}`);
    return 1;
  }
  const command = await load();
  return command.main(args);
}
