// `log-level <level>`: sets the output level for the rest of the file (case-insensitive name).
import { DataDrivenError } from '../datadriven.js';
import type { CmdArg } from '../datadriven.js';
import type { InteractionEnv } from './env.js';
import { LEVEL_NAMES } from './output.js';

export function handleLogLevel(env: InteractionEnv, args: CmdArg[]): Error | null {
  if (args.length === 0) throw new DataDrivenError('log-level: missing level');
  return setLogLevel(env, args[0].key);
}

export function setLogLevel(env: InteractionEnv, name: string): Error | null {
  const upper = name.toUpperCase();
  const lvl = LEVEL_NAMES.findIndex((n) => n === upper);
  if (lvl < 0) return new Error(`log levels must be either of [${LEVEL_NAMES.join(' ')}]`);
  env.output.lvl = lvl;
  return null;
}
