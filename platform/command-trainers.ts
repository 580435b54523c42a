import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { commandTrainerNameSchema } from '../domain/pipeline-spec.js';

/**
 * A program a worker's operator allows `command` trainers to run, under a name specs refer to. The entry point is
 * complete (program and arguments, paths absolute): a spec passes params and allowed environment only.
 */
export interface CommandTrainer {
  readonly name: string;
  /** argv: the program's absolute path, then its arguments. */
  readonly argv: readonly string[];
}

/** Thrown for a malformed or unusable SLIPWAY_COMMAND_TRAINERS; the message names the entry and the problem. */
export class CommandTrainerConfigError extends Error {
  override readonly name = 'CommandTrainerConfigError';
}

const help =
  'expected name=program[:argument...] entries separated by commas, e.g. sklearn-example=python3:examples/python-trainer/train.py';

/**
 * Parses `name=program:arg:...,name2=...` without touching the file system. Throws naming the bad entry.
 */
export function parseCommandTrainers(list: string): { name: string; argv: string[] }[] {
  const entries = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const eq = entry.indexOf('=');
      if (eq <= 0) throw new CommandTrainerConfigError(`SLIPWAY_COMMAND_TRAINERS entry "${entry}": ${help}`);
      const name = entry.slice(0, eq).trim();
      if (!commandTrainerNameSchema.safeParse(name).success) {
        throw new CommandTrainerConfigError(
          `SLIPWAY_COMMAND_TRAINERS entry "${entry}": the name must be 1-63 lower-case letters, digits, _ and -`,
        );
      }
      const argv = entry.slice(eq + 1).split(':');
      if (argv.some((a) => a.trim() === '')) {
        throw new CommandTrainerConfigError(
          `SLIPWAY_COMMAND_TRAINERS entry "${entry}": an empty program or argument; ${help}`,
        );
      }
      return { name, argv };
    });
  const seen = new Set<string>();
  for (const { name } of entries) {
    if (seen.has(name))
      throw new CommandTrainerConfigError(`SLIPWAY_COMMAND_TRAINERS: the name "${name}" appears twice`);
    seen.add(name);
  }
  return entries;
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Parses SLIPWAY_COMMAND_TRAINERS and makes each entry point absolute, so a trainer runs the same program whatever
 * its job directory: a program without a `/` is looked up on `searchPath` now, and the program or an argument with
 * a `/` is a path, resolved against `cwd`, that must exist. A worker refuses to start on an unusable entry instead
 * of failing runs later.
 */
export async function resolveCommandTrainers(
  list: string | undefined,
  options: { cwd: string; searchPath: string | undefined },
): Promise<CommandTrainer[]> {
  if (!list) return [];
  const resolved: CommandTrainer[] = [];
  for (const { name, argv } of parseCommandTrainers(list)) {
    const [program, ...args] = argv as [string, ...string[]];
    let programPath: string | undefined;
    if (program.includes('/')) {
      const candidate = isAbsolute(program) ? program : resolve(options.cwd, program);
      if (await executable(candidate)) programPath = candidate;
    } else {
      for (const dir of (options.searchPath ?? '').split(delimiter).filter(Boolean)) {
        const candidate = join(dir, program);
        if (await executable(candidate)) {
          programPath = candidate;
          break;
        }
      }
    }
    if (!programPath) {
      throw new CommandTrainerConfigError(
        `SLIPWAY_COMMAND_TRAINERS "${name}": program ${program} is not an executable file${program.includes('/') ? '' : ' on PATH'}`,
      );
    }
    const resolvedArgs: string[] = [];
    for (const arg of args) {
      if (!arg.includes('/')) {
        resolvedArgs.push(arg);
        continue;
      }
      const path = isAbsolute(arg) ? arg : resolve(options.cwd, arg);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) {
        throw new CommandTrainerConfigError(
          `SLIPWAY_COMMAND_TRAINERS "${name}": ${arg} is not a file (relative to ${options.cwd})`,
        );
      }
      resolvedArgs.push(path);
    }
    resolved.push({ name, argv: [programPath, ...resolvedArgs] });
  }
  return resolved;
}
