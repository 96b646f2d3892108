import { runCli } from './cli';
import { COMMANDS } from './commands';

// `tillbus …`: one command, then exit with its code (bin/tillbus.js runs this).
void runCli(process.argv.slice(2), COMMANDS, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
}).then((code) => {
  process.exitCode = code;
  // Everything is closed by now; should a handle linger anyway, a person is not left waiting for it.
  setTimeout(() => process.exit(code), 1000).unref();
});
