# bash completion for pgtbench. Subcommands and options come from the binary's own
# --help, so that they never fall behind it; configs (.toml) and results files (.json)
# complete as the arguments of the commands that take them.

_pgtbench_opts()
{
	# "  -h,--help  ..." and "  --kernel KERNEL ..." (CLI11's and argparse's help alike)
	"$@" --help 2>/dev/null | grep -oE '^ +(-[a-zA-Z], ?)?--[a-z][a-z-]*' | sed -E 's/^ +//; s/^-[a-zA-Z], ?//'
}

_pgtbench()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local bin=${COMP_WORDS[0]} sub=${COMP_WORDS[1]}
	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		local subs
		subs=$("$bin" --help 2>/dev/null | sed -n '/^Subcommands:/,$ s/^  \([a-z][a-z-]*\) .*/\1/p')
		mapfile -t COMPREPLY < <(compgen -W "$subs --help --version" -- "$cur")
		return
	fi
	case $prev in
	--order) mapfile -t COMPREPLY < <(compgen -W "variants interleave shuffle" -- "$cur"); return ;;
	--format) mapfile -t COMPREPLY < <(compgen -W "cover-letter markdown csv json" -- "$cur"); return ;;
	--out | --plot | --kmod | --runs-info | --pgtbench | --kernel | --file | --config)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_pgtbench_opts "$bin" "$sub")" -- "$cur")
		return
	fi
	local glob
	case $sub in
	run | list) glob='*.toml' ;;
	compare | plot | merge | merge-emu | import) glob='*.json' ;;
	*) return ;;
	esac
	mapfile -t COMPREPLY < <(compgen -d -- "$cur"; compgen -f -X "!$glob" -- "$cur")
}

complete -o filenames -F _pgtbench pgtbench
