import { Argument, type Command } from "commander";
import { completionScript, SHELLS, type Shell } from "../completion-scripts.js";

export function registerCompletion(program: Command): void {
  program
    .command("completion")
    .description("print the shell completion script for bash, zsh or fish (commands, options, their values, run ids)")
    .addArgument(new Argument("<shell>", "the shell").choices([...SHELLS]))
    .addHelpText(
      "after",
      `
Install:
  bash   echo 'source <(cc-executor completion bash)' >> ~/.bashrc
  zsh    echo 'source <(cc-executor completion zsh)' >> ~/.zshrc      (after compinit)
  fish   cc-executor completion fish > ~/.config/fish/completions/cc-executor.fish`,
    )
    .action((shell: Shell) => {
      process.stdout.write(completionScript(shell));
    });
}
