import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidSpecError, parsePipelineSpec, trainerEnvHelp } from '../../domain/pipeline-spec.js';
import {
  CommandTrainerConfigError,
  parseCommandTrainers,
  resolveCommandTrainers,
} from '../../platform/command-trainers.js';

const base = {
  model: 'm',
  dataset: { source: 'electricity.csv' },
  target: 'class',
  split: { kind: 'time' },
};

function problems(trainer: unknown): { path: string; message: string }[] {
  try {
    parsePipelineSpec({ ...base, trainer });
  } catch (error) {
    if (error instanceof InvalidSpecError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('a command-trainer spec names a registered trainer and passes params only', () => {
  it('accepts a name, params and allowed environment', () => {
    expect(
      problems({
        kind: 'command',
        name: 'sklearn-example',
        params: { epochs: 3 },
        env: { OMP_NUM_THREADS: '2', TRAINER_MODE: 'fast' },
      }),
    ).toEqual([]);
  });

  it('refuses a spec that carries a program to run, naming the field', () => {
    const refusal =
      "a spec cannot name a program to run (command); name a trainer that the worker's operator registered, with trainer.name";
    expect(
      problems({ kind: 'command', name: 'sklearn-example', command: ['python3', '-c', 'import os'] }),
    ).toEqual([{ path: 'trainer.command', message: refusal }]);
    expect(problems({ kind: 'command', name: 'x', argv: ['sh'] })).toEqual([
      { path: 'trainer.argv', message: refusal.replace('(command)', '(argv)') },
    ]);
    expect(problems({ kind: 'command', command: ['python3', 'train.py'] })).toEqual([
      {
        path: 'trainer.name',
        message: 'expected a registered trainer name: 1-63 lower-case letters, digits, _ and -',
      },
      { path: 'trainer.command', message: refusal },
    ]);
  });

  it.each([
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
    'NODE_OPTIONS',
    'PYTHONPATH',
    'PYTHONSTARTUP',
    'PATH',
    'HOME',
    'BASH_ENV',
    'SLIPWAY_JOB',
    'CUDA_VISIBLE_DEVICES',
    'trainer_x',
  ])('refuses env %s, naming it and what is allowed', (name) => {
    expect(problems({ kind: 'command', name: 'sklearn-example', env: { [name]: 'x' } })).toEqual([
      { path: `trainer.env.${name}`, message: `a spec may not set ${name} (${trainerEnvHelp})` },
    ]);
  });
});

describe('SLIPWAY_COMMAND_TRAINERS', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-trainers-'));
    await writeFile(join(dir, 'train.py'), 'print("hi")\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('parses names with entry points and refuses malformed or repeated entries', () => {
    expect(parseCommandTrainers('a=python3:x/train.py, b=/opt/bin/train')).toEqual([
      { name: 'a', argv: ['python3', 'x/train.py'] },
      { name: 'b', argv: ['/opt/bin/train'] },
    ]);
    expect(() => parseCommandTrainers('python3')).toThrow(CommandTrainerConfigError);
    expect(() => parseCommandTrainers('Bad Name=python3')).toThrow(/the name must be/);
    expect(() => parseCommandTrainers('a=python3::x')).toThrow(/an empty program or argument/);
    expect(() => parseCommandTrainers('a=python3,a=sh')).toThrow(/"a" appears twice/);
  });

  it('makes entry points absolute at start and refuses ones that do not exist', async () => {
    const [trainer] = await resolveCommandTrainers('ex=sh:./train.py:--fast', {
      cwd: dir,
      searchPath: '/usr/bin:/bin',
    });
    expect(trainer?.name).toBe('ex');
    expect(trainer?.argv.slice(1)).toEqual([join(dir, 'train.py'), '--fast']);
    expect(trainer?.argv[0]).toMatch(/^\/(usr\/)?bin\/sh$/);
    await expect(
      resolveCommandTrainers('ex=no-such-program-here:./train.py', { cwd: dir, searchPath: '/usr/bin' }),
    ).rejects.toThrow(
      'SLIPWAY_COMMAND_TRAINERS "ex": program no-such-program-here is not an executable file on PATH',
    );
    await expect(
      resolveCommandTrainers('ex=sh:./missing.py', { cwd: dir, searchPath: '/usr/bin:/bin' }),
    ).rejects.toThrow(`SLIPWAY_COMMAND_TRAINERS "ex": ./missing.py is not a file (relative to ${dir})`);
  });
});
