import { CommanderError } from "commander";
import { COMPLETE } from "./completion-scripts.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { error } from "./output.js";
import { buildProgram } from "./program.js";

/** Runs a command line (`process.argv`) through the command tree and maps how it ended to the exit code. */
export async function runProgram(argv: string[]): Promise<void> {
  // a command line naming a command builds only that command; anything else (--help, __complete) the whole tree
  const program = buildProgram(argv[2]);
  try {
    // What the completion scripts call at each TAB (`cc-executor __complete <words...>`): not a
    // command of the tree, so that no word typed so far (--help, --version) is acted on.
    if (argv[2] === COMPLETE) (await import("./completion.js")).writeCandidates(program, argv.slice(3));
    else await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage mistakes get 2.
      process.exitCode = err.exitCode === 0 ? 0 : ExitCode.usage;
    } else if (err instanceof CliError) {
      error(err.message);
      process.exitCode = err.exitCode;
    } else if (await isSettingsError(err)) {
      error((err as Error).message);
      process.exitCode = ExitCode.usage;
    } else {
      error((err as Error).message ?? String(err));
      process.exitCode = ExitCode.failure;
    }
  }
}

/**
 * Bad settings (ConfigError) or a server that refuses to start on them (StartupError): exit 2.
 * Their modules are loaded here, on this error path only, so that starting the CLI does not.
 */
async function isSettingsError(err: unknown): Promise<boolean> {
  const [{ ConfigError }, { StartupError }] = await Promise.all([import("../config.js"), import("../server/listen.js")]);
  return err instanceof ConfigError || err instanceof StartupError;
}
