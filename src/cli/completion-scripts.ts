/**
 * The shell side of completion: the scripts `cc-executor completion bash|zsh|fish` prints, and the
 * words they share with the CLI. The candidates the scripts ask for come from completion.ts.
 */

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** The hidden first argument the scripts call the CLI with. */
export const COMPLETE = "__complete";

/** Marks "complete a path" for the shell scripts. */
export const FILES = ":files";

/** The script that hooks completion into a shell. */
export function completionScript(shell: Shell): string {
  switch (shell) {
    case "bash":
      return `# cc-executor completion for bash: add to ~/.bashrc
#   source <(cc-executor completion bash)
_cc_executor() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" IFS=$'\\n'
  local lines=($(cc-executor ${COMPLETE} "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
  if [[ "\${lines[0]}" == "${FILES}" ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  else
    COMPREPLY=($(printf '%s\\n' "\${lines[@]}" | cut -f1))
  fi
}
complete -o filenames -F _cc_executor cc-executor
`;
    case "zsh":
      return `#compdef cc-executor
# cc-executor completion for zsh: add to ~/.zshrc (after compinit)
#   source <(cc-executor completion zsh)
_cc_executor() {
  local -a lines candidates
  local line value
  lines=("\${(@f)$(cc-executor ${COMPLETE} "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ "\${lines[1]}" == "${FILES}" ]]; then
    _files
    return
  fi
  for line in "\${lines[@]}"; do
    [[ -z "$line" ]] && continue
    value="\${line%%$'\\t'*}"
    if [[ "$line" == *$'\\t'* ]]; then
      candidates+=("\${value//:/\\\\:}:\${line#*$'\\t'}")
    else
      candidates+=("\${value//:/\\\\:}")
    fi
  done
  _describe 'cc-executor' candidates
}
compdef _cc_executor cc-executor
`;
    case "fish":
      return `# cc-executor completion for fish: save as ~/.config/fish/completions/cc-executor.fish
#   cc-executor completion fish > ~/.config/fish/completions/cc-executor.fish
function __cc_executor_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l lines (cc-executor ${COMPLETE} $words[2..-1] 2>/dev/null)
    if test "$lines[1]" = "${FILES}"
        __fish_complete_path (commandline -ct)
    else
        printf '%s\\n' $lines
    end
end
complete -c cc-executor -f -a '(__cc_executor_complete)'
`;
  }
}
