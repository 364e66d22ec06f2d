use super::*;

fn names(s: &Script) -> Vec<&str> {
    s.commands.iter().filter_map(Command::name).collect()
}

fn argv(c: &Command) -> Vec<&str> {
    c.words.iter().map(|w| w.text.as_str()).collect()
}

fn find<'a>(s: &'a Script, name: &str) -> &'a Command {
    match s.commands.iter().find(|c| c.name() == Some(name)) {
        Some(c) => c,
        None => panic!("no command {name} in {:?}", names(s)),
    }
}

fn run(s: &Script, args: &[&str]) -> Vec<String> {
    reachable(s, &Entry::with_args(args.iter().copied()))
        .iter()
        .filter(|c| !c.words.is_empty())
        .map(|c| argv(c).join(" "))
        .collect()
}

/// Runs `f` on a thread with a small stack: deep inputs must not need a deep stack.
fn small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let handle = std::thread::Builder::new().stack_size(1 << 20).spawn(f);
    match handle.map(|h| h.join()) {
        Ok(Ok(v)) => v,
        _ => panic!("parse thread failed"),
    }
}

// --- comments -------------------------------------------------------------------------

#[test]
fn hash_inside_a_word_is_not_a_comment() {
    let s = parse(b"[ $# -ge 0 ] && telnetd -l /bin/sh\n");
    assert_eq!(names(&s), ["[", "telnetd"]);
    assert_eq!(argv(find(&s, "[")), ["[", "$#", "-ge", "0", "]"]);
    let t = find(&s, "telnetd");
    assert_eq!((argv(t), t.line), (vec!["telnetd", "-l", "/bin/sh"], 1));
    assert_eq!(t.context, [Frame::AndOr]);
    assert!(s.notes.is_empty(), "{:?}", s.notes);
    assert_eq!(
        argv(&parse(b"echo a#b ${#x}").commands[0]),
        ["echo", "a#b", "${#x}"]
    );
}

#[test]
fn hash_at_a_word_start_comments_to_the_end_of_the_line() {
    let s = parse(b"x # c telnetd\necho;# telnetd\n  # telnetd\ny");
    assert_eq!(names(&s), ["x", "echo", "y"]);
    assert_eq!(argv(find(&s, "x")), ["x"]);
    assert_eq!(find(&s, "y").line, 4);
    // A backslash does not continue a comment.
    assert_eq!(names(&parse(b"# a \\\ntelnetd")), ["telnetd"]);
}

#[test]
fn nul_and_invalid_utf8_are_ordinary_characters() {
    let s = parse(b"#!/bin/sh\n# \x00\xff\xfe binary \x00\ntelnetd -l /bin/sh\necho \xffa\x00b\n");
    assert_eq!(find(&s, "telnetd").line, 3);
    assert_eq!(argv(find(&s, "echo")), ["echo", "\u{fffd}a\u{0}b"]);
    assert_eq!(s.shebang.as_deref(), Some("/bin/sh"));
    assert!(s.notes.is_empty());
}

// --- quoting --------------------------------------------------------------------------

#[test]
fn quote_removal_joins_a_word() {
    let s = parse(b"\"tel\"net'd' -l /bin/sh");
    let w = &s.commands[0].words[0];
    assert_eq!(
        (w.text.as_str(), w.quoted, w.literal),
        ("telnetd", true, true)
    );
    let s = parse(b"echo \"a \\\" \\\\ \\$ \\` \\x\" 'b\\' c\\ d $'e\\tf\\x41\\101\\'' $\"g\"");
    assert_eq!(
        argv(&s.commands[0]),
        ["echo", "a \" \\ $ ` \\x", "b\\", "c d", "e\tfAA'", "g"]
    );
    assert!(s.notes.is_empty(), "{:?}", s.notes);
}

#[test]
fn backslash_newline_continues_anywhere() {
    let s = parse(b"tel\\\nnetd -l /bin/sh\nte\\\r\nlnetd\nec\"ho\\\n\" x &\\\n& y");
    assert_eq!(names(&s), ["telnetd", "telnetd", "echo", "y"]);
    assert_eq!(s.commands[0].line, 1);
    assert_eq!(s.commands[1].line, 3);
    assert_eq!(s.commands[3].context, [Frame::AndOr]);
    // Not inside single quotes.
    assert_eq!(
        argv(&parse(b"echo 'a\\\nb'").commands[0]),
        ["echo", "a\\\nb"]
    );
}

#[test]
fn expansions_are_kept_as_written() {
    let s = parse(b"echo \"$1\" ${X:-y} \"${1:-start}\" $A\"BC\" '$1' $(pidof x) `id` $((1+2)) $");
    let c = find(&s, "echo");
    assert_eq!(
        argv(c),
        [
            "echo",
            "$1",
            "${X:-y}",
            "${1:-start}",
            "$ABC",
            "$1",
            "$(pidof x)",
            "`id`",
            "$((1+2))",
            "$"
        ]
    );
    let lit: Vec<bool> = c.words.iter().map(|w| w.literal).collect();
    assert_eq!(
        lit,
        [true, false, false, false, false, true, false, false, false, true]
    );
    let sole: Vec<Option<&str>> = c.words.iter().map(Word::sole_parameter).collect();
    let want = [
        None,
        Some("$1"),
        Some("${X:-y}"),
        Some("${1:-start}"),
        None,
        None,
    ];
    assert_eq!(sole.get(..6), Some(&want[..]));
    assert!(!parse(b"ls *.conf").commands[0].words[1].literal);
    assert!(parse(b"ls '*'.conf [").commands[0]
        .words
        .iter()
        .all(|w| w.literal));
}

#[test]
fn assignments_lead_the_command() {
    let s = parse(b"A=1 B=\"$1\" telnetd C=3\nD=x\n");
    let c = &s.commands[0];
    let a: Vec<&str> = c.assignments.iter().map(|w| w.text.as_str()).collect();
    assert_eq!((a, argv(c)), (vec!["A=1", "B=$1"], vec!["telnetd", "C=3"]));
    assert_eq!(c.assignments[1].sole_parameter(), Some("$1"));
    assert!(s.commands[1].words.is_empty());
    // Not an assignment: a quoted name, a bad name.
    assert_eq!(names(&parse(b"'A'=1 1A=2")), ["A=1"]);
}

// --- operators and redirections -------------------------------------------------------

#[test]
fn operators_separate_commands() {
    let s = parse(b"a; b & c && d || e | f\ng|h;i&");
    assert_eq!(names(&s), ["a", "b", "c", "d", "e", "f", "g", "h", "i"]);
    let bg: Vec<bool> = s.commands.iter().map(|c| c.background).collect();
    assert_eq!(
        bg,
        [false, true, false, false, false, false, false, false, true]
    );
    assert_eq!(find(&s, "c").context, []);
    assert_eq!(find(&s, "e").context, [Frame::AndOr, Frame::Pipeline]);
    assert_eq!(find(&s, "g").context, [Frame::Pipeline]);
    assert_eq!(find(&s, "h").context, [Frame::Pipeline]);
}

#[test]
fn redirections_are_removed() {
    let s = parse(
        b"telnetd -l /bin/sh >/dev/null 2>&1 </dev/null\necho x >> log 2> err 3<>f &>o >|p\n",
    );
    assert_eq!(argv(&s.commands[0]), ["telnetd", "-l", "/bin/sh"]);
    assert_eq!(argv(&s.commands[1]), ["echo", "x"]);
    // `2` alone is an argument; `2>` is a redirection.
    assert_eq!(argv(&parse(b"echo 2 >x 2>y").commands[0]), ["echo", "2"]);
    // A redirection's substitution runs, and so do process substitutions.
    assert_eq!(names(&parse(b"echo >$(telnetd)")), ["telnetd", "echo"]);
    assert_eq!(
        names(&parse(b"diff <(a) >(b) |& c")),
        ["a", "b", "diff", "c"]
    );
    // Inside `[[ … ]]`, operators are words.
    let s = parse(b"[[ $a < b && ( -f x ) || y > z ]] && telnetd");
    assert_eq!(
        argv(&s.commands[0]),
        ["[[", "$a", "<", "b", "&&", "(", "-f", "x", ")", "||", "y", ">", "z", "]]"]
    );
    assert_eq!(names(&s), ["[[", "telnetd"]);
}

#[test]
fn here_documents_are_skipped_but_counted() {
    let s = parse(b"cat <<EOF >x\ntelnetd\nEOF\nls\ncat <<-'E O'\n\ttelnetd\n\tE O\nps\n");
    assert_eq!(names(&s), ["cat", "ls", "cat", "ps"]);
    assert_eq!(find(&s, "ls").line, 4);
    assert_eq!(find(&s, "ps").line, 8);
    // Two on one line, bodies in order; CRLF delimiter lines.
    let s = parse(b"a <<A; b <<\"B\"\r\nx\r\nA\r\ny\r\nB\r\nc\r\n");
    assert_eq!(names(&s), ["a", "b", "c"]);
    assert_eq!(find(&s, "c").line, 6);
    assert!(s.notes.is_empty(), "{:?}", s.notes);
}

#[test]
fn unquoted_here_document_substitutions_run() {
    let s = parse(
        b"cat <<EOF\nx $(telnetd -l /bin/sh) `utelnetd`\nEOF\ncat <<'EOF'\n$(dropbear)\nEOF\n",
    );
    assert_eq!(names(&s), ["telnetd", "utelnetd", "cat", "cat"]);
    assert_eq!(find(&s, "telnetd").line, 2);
    assert_eq!(find(&s, "telnetd").context, [Frame::Substitution]);
}

#[test]
fn here_document_inside_a_substitution() {
    let s = parse(b"x=$(cat <<EOF\n$(telnetd)\nEOF\n)\necho $x");
    assert_eq!(names(&s), ["telnetd", "cat", "echo"]);
    assert_eq!(
        find(&s, "telnetd").context,
        [Frame::Substitution, Frame::Substitution]
    );
    assert_eq!(find(&s, "echo").line, 5);
    assert!(s.notes.is_empty(), "{:?}", s.notes);
}

#[test]
fn unterminated_here_document_is_noted() {
    let s = parse(b"cat <<EOF\ntelnetd\n");
    assert_eq!(names(&s), ["cat"]);
    assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
}

// --- reserved words and compound commands ---------------------------------------------

#[test]
fn reserved_words_only_in_command_position() {
    let s = parse(
        b"echo if then fi case esac do done\nif true; then telnetd; elif x; then y; else z; fi",
    );
    assert_eq!(argv(&s.commands[0]).len(), 8);
    assert_eq!(names(&s), ["echo", "true", "telnetd", "x", "y", "z"]);
    assert_eq!(find(&s, "telnetd").context, [Frame::If]);
    // Quoted, it is a command name.
    assert_eq!(names(&parse(b"\"if\" x")), ["if"]);
    assert!(parse(b"if true; then a; fi").notes.is_empty());
}

#[test]
fn loops_groups_subshells() {
    let s = parse(b"while read l; do a; done <f\nuntil b; do c; done\nfor i in $(ls) x; do d $i; done\n{ e; f; } >/dev/null\n(g) &\nfor j do h; done");
    assert_eq!(
        names(&s),
        ["read", "a", "b", "c", "ls", "d", "e", "f", "g", "h"]
    );
    assert_eq!(find(&s, "a").context, [Frame::Loop]);
    assert_eq!(find(&s, "ls").context, [Frame::Substitution]);
    assert_eq!(find(&s, "e").context, [Frame::Group]);
    let g = find(&s, "g");
    assert_eq!(
        (g.context.as_slice(), g.background),
        (&[Frame::Subshell][..], true)
    );
    assert!(s.notes.is_empty(), "{:?}", s.notes);
}

#[test]
fn case_branches() {
    let s = parse(b"case $x in\n p1|p2) a ;;\n (p3) b ;&\n \"*\") c ;;&\n *) d\nesac\ne");
    assert!(s.notes.is_empty(), "{:?}", s.notes);
    assert_eq!(names(&s), ["a", "b", "c", "d", "e"]);
    let frame = |p: &[&str]| Frame::Case {
        subject: "$x".into(),
        patterns: p.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(find(&s, "a").context, [frame(&["p1", "p2"])]);
    assert_eq!(find(&s, "b").context, [frame(&["p3"])]);
    assert_eq!(find(&s, "c").context, [frame(&["\\*"])]);
    assert_eq!(find(&s, "d").context, [frame(&["*"])]);
    assert_eq!(find(&s, "e").context, []);
    // A pattern may be a reserved word; `esac` as a word in a body is an argument.
    assert_eq!(
        names(&parse(b"case x in fi) echo esac;; esac; z")),
        ["echo", "z"]
    );
}

#[test]
fn functions_in_three_forms() {
    let s = parse(b"a() { x; }\nb () ( y )\nfunction c { z; }\nfunction d() {\n w\n}\n");
    assert!(s.notes.is_empty(), "{:?}", s.notes);
    assert_eq!(s.functions().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
    let ctx = |n| find(&s, n).context.clone();
    assert_eq!(ctx("x"), [Frame::Function("a".into()), Frame::Group]);
    assert_eq!(ctx("y"), [Frame::Function("b".into()), Frame::Subshell]);
    assert_eq!(ctx("z"), [Frame::Function("c".into()), Frame::Group]);
    assert_eq!(find(&s, "w").line, 5);
    assert!(run(&s, &[]).is_empty());
}

// --- strings run as commands ----------------------------------------------------------

#[test]
fn substitutions_eval_and_sh_c_are_commands() {
    let s = parse(
        b"x=$(telnetd)\necho `utelnetd -p 23`\neval 'dropbear -p 22'\n/bin/sh -ec \"inetd\"\nbusybox sh -c 'ftpd'\ntrap 'tftpd' EXIT\neval \"$cmd\"\n",
    );
    let want = [
        "telnetd", "utelnetd", "echo", "eval", "dropbear", "/bin/sh", "inetd",
    ];
    assert_eq!(names(&s)[..7], want);
    assert_eq!(names(&s)[7..], ["busybox", "ftpd", "trap", "tftpd", "eval"]);
    assert_eq!(find(&s, "telnetd").context, [Frame::Substitution]);
    let u = find(&s, "utelnetd");
    assert_eq!(
        (u.line, u.context.as_slice()),
        (2, &[Frame::Substitution][..])
    );
    let d = find(&s, "dropbear");
    assert_eq!((d.line, d.context.as_slice()), (3, &[Frame::Eval][..]));
    assert_eq!(find(&s, "inetd").line, 4);
    assert_eq!(find(&s, "tftpd").context, [Frame::Eval]);
    // Behind wrappers.
    let w = parse(b"exec nohup env -i A=1 nice -n 5 /bin/sh -c 'telnetd -l /bin/sh' &");
    assert_eq!(names(&w), ["exec", "telnetd"]);
    assert_eq!(find(&w, "telnetd").context, [Frame::Eval]);
    assert_eq!(
        run(&w, &[]),
        [
            "exec nohup env -i A=1 nice -n 5 /bin/sh -c telnetd -l /bin/sh",
            "telnetd -l /bin/sh"
        ]
    );
    // `x=$(telnetd)` is a command of its own (an assignment), so its substitution is reachable.
    assert!(run(&s, &[]).contains(&"telnetd".to_string()));
}

#[test]
fn nested_substitutions_keep_lines_and_frames() {
    let s = parse(b"if a; then\n  echo \"$(b\n  $(c `d`))\"\nfi");
    let c = find(&s, "c");
    assert_eq!(c.line, 3);
    assert_eq!(
        c.context,
        [Frame::If, Frame::Substitution, Frame::Substitution]
    );
    assert_eq!(find(&s, "d").context.len(), 4);
    assert_eq!(find(&s, "d").line, 3);
    // A case inside `$(…)`: its `)` does not end the substitution.
    let s = parse(b"v=$(case x in x) telnetd;; esac)\necho ok");
    assert_eq!(names(&s), ["telnetd", "echo"]);
    assert!(s.notes.is_empty(), "{:?}", s.notes);
}

// --- errors ---------------------------------------------------------------------------

#[test]
fn unterminated_constructs_are_read_and_noted() {
    for (src, want) in [
        (&b"echo \"abc\ntelnetd"[..], &["echo"][..]),
        (b"echo 'abc", &["echo"]),
        (b"if true; then telnetd", &["true", "telnetd"]),
        (b"x=$(telnetd", &["telnetd"]),
        (b"{ telnetd", &["telnetd"]),
        (b"case $1 in start) telnetd", &["telnetd"]),
        (b"while a; do b", &["a", "b"]),
        (b"echo `telnetd", &["telnetd", "echo"]),
        (b"echo ${x", &["echo"]),
        (b"fi; telnetd; ) ;; done", &["telnetd"]),
    ] {
        let s = parse(src);
        assert_eq!(names(&s), want, "{}", String::from_utf8_lossy(src));
        assert!(!s.notes.is_empty(), "{}", String::from_utf8_lossy(src));
    }
}

#[test]
fn crlf_scripts_read_like_lf() {
    let s = parse(
        b"#!/bin/sh\r\ncase \"$1\" in\r\n  start)\r\n    telnetd -l /bin/sh\r\n    ;;\r\nesac\r\n",
    );
    assert!(s.notes.is_empty(), "{:?}", s.notes);
    assert_eq!(run(&s, &["start"]), ["telnetd -l /bin/sh"]);
    assert_eq!(s.shebang.as_deref(), Some("/bin/sh"));
}

// --- reachability ---------------------------------------------------------------------

#[test]
fn the_issue_cases_are_reachable() {
    for (src, line) in [
        (&b"[ $# -ge 0 ] && telnetd -l /bin/sh\n"[..], 1),
        (
            b"#!/bin/sh\n# comment \x00 with a NUL\ntelnetd -l /bin/sh\n",
            3,
        ),
        (b"echo x\ntel\\\nnetd -l /bin/sh\n", 2),
    ] {
        let s = parse(src);
        let hits: Vec<u32> = reachable(&s, &Entry::default())
            .iter()
            .filter(|c| c.name() == Some("telnetd"))
            .map(|c| c.line)
            .collect();
        assert_eq!(hits, [line], "{}", String::from_utf8_lossy(src));
    }
}

const INIT: &[u8] = b"case \"$1\" in start) telnetd ;; stop) killall telnetd ;; esac";

#[test]
fn case_on_first_argument_picks_the_branch() {
    let s = parse(INIT);
    assert_eq!(run(&s, &["start"]), ["telnetd"]);
    assert_eq!(run(&s, &["stop"]), ["killall telnetd"]);
    assert!(run(&s, &[]).is_empty());
    assert!(run(&s, &["restart"]).is_empty());
}

#[test]
fn case_through_functions() {
    let s = parse(b"start() { telnetd; }\nstop() { killall telnetd; }\ndebug() { utelnetd; }\ncase $1 in start) start;; stop) stop;; esac");
    assert_eq!(run(&s, &["start"]), ["telnetd", "start"]);
    assert_eq!(run(&s, &["stop"]), ["killall telnetd", "stop"]);
    // Never called: never reachable.
    assert!(!run(&s, &["start"]).iter().any(|c| c == "utelnetd"));
}

#[test]
fn case_forms_of_the_first_argument() {
    for subject in ["$1", "\"$1\"", "${1}", "\"${1}\"", "$action", "\"$ACTION\""] {
        let src = format!(
            "action=$1\nACTION=\"$1\"\ncase {subject} in\n start|restart) telnetd ;;\n *) echo usage ;;\nesac\n"
        );
        let s = parse(src.as_bytes());
        assert_eq!(run(&s, &["restart"]), ["telnetd"], "{subject}");
        assert_eq!(run(&s, &["status"]), ["echo usage"], "{subject}");
    }
}

#[test]
fn default_of_the_first_argument() {
    let s = parse(b"ACTION=\"${1:-start}\"\ncase \"$ACTION\" in start) telnetd;; stop) killall telnetd;; esac");
    assert_eq!(run(&s, &[]), ["telnetd"]);
    assert_eq!(run(&s, &["stop"]), ["killall telnetd"]);
}

#[test]
fn unknown_subjects_run_every_branch() {
    // `$A"BC"` is $A then BC, not $ABC: the walk must not resolve it as ABC.
    for subject in ["$MODE", "$(cat /etc/mode)", "$A\"BC\"", "x$1"] {
        let src = format!("ABC=$1\ncase {subject} in start) a;; *) b;; esac");
        let got = run(&parse(src.as_bytes()), &["start"]);
        assert!(
            got.ends_with(&["a".into(), "b".into()]),
            "{subject}: {got:?}"
        );
    }
    // A variable assigned twice, or in a branch, is unknown.
    let s = parse(b"A=$1\nA=stop\ncase $A in start) a;; *) b;; esac");
    assert_eq!(run(&s, &["start"]), ["a", "b"]);
    let s = parse(b"[ -n \"$1\" ] && A=$1\ncase $A in start) a;; *) b;; esac");
    assert_eq!(run(&s, &["start"]), ["[ -n $1 ]", "a", "b"]);
    // `shift` at top level: `$1` is no longer the first argument.
    let s = parse(b"shift\ncase $1 in start) a;; *) b;; esac");
    assert_eq!(run(&s, &["start"]), ["shift", "a", "b"]);
}

#[test]
fn case_patterns_and_terminators() {
    let s = parse(b"case $1 in st*) a;& x) b;; *) c;; esac\ncase $1 in [sS]tart) d;;& ?tart) e;; *) f;; esac\ncase $1 in $P) g;; start) h;; *) i;; esac\ncase $1 in \"st*\") j;; \\*) k;; esac");
    assert_eq!(run(&s, &["start"]), ["a", "b", "d", "e", "g", "h"]);
    assert_eq!(run(&s, &["st*"]), ["a", "b", "f", "g", "i", "j"]);
    assert_eq!(run(&s, &["*"]), ["c", "f", "g", "i", "k"]);
}

#[test]
fn function_arguments_and_dynamic_calls() {
    let s = parse(b"svc() { case $1 in on) telnetd;; off) killall telnetd;; esac; }\nstart() { svc on; }\nstop() { svc off; }\n\"$1\"");
    assert_eq!(run(&s, &["start"]), ["telnetd", "svc on", "$1"]);
    assert_eq!(run(&s, &["stop"]), ["killall telnetd", "svc off", "$1"]);
    // An unresolvable command name may be any function.
    let s = parse(b"debug() { utelnetd; }\n$CMD");
    assert_eq!(run(&s, &[]), ["utelnetd", "$CMD"]);
    // Passing "$@" on.
    let s = parse(b"main() { case $1 in start) telnetd;; esac; }\nmain \"$@\"");
    assert_eq!(run(&s, &["start"]), ["telnetd", "main $@"]);
    assert_eq!(run(&s, &["stop"]), ["main $@"]);
}

#[test]
fn shift_in_a_function_makes_its_arguments_unknown() {
    let s = parse(
        b"f() { shift; case $1 in a) x;; b) y;; esac; }\nf a b\ncase $1 in start) z;; *) w;; esac",
    );
    assert_eq!(run(&s, &["start"]), ["shift", "x", "y", "f a b", "z"]);
}

#[test]
fn huge_case_matching_is_bounded() {
    // A long literal subject and many patterns: past the matching budget a pattern may match.
    let mut src = format!("case {} in ", "a".repeat(100_000));
    for _ in 0..20_000 {
        src.push_str("*b|");
    }
    src.push_str("*c) telnetd;; esac");
    assert_eq!(run(&parse(src.as_bytes()), &[]), ["telnetd"]);
}

#[test]
fn recursion_and_two_calls_terminate() {
    let s = parse(b"f() { case $1 in a) x;; b) y;; esac; f a; f b; }\nf a");
    // Called with `a` and then `b`: walked again with unknown arguments.
    assert_eq!(run(&s, &[]), ["x", "y", "f a", "f b", "f a"]);
}

#[test]
fn implicit_functions_of_a_framework() {
    let s = parse(
        b"#!/bin/sh /etc/rc.common\nSTART=50\nstart() { telnetd; }\nstop() { killall telnetd; }\n",
    );
    assert_eq!(s.shebang.as_deref(), Some("/bin/sh /etc/rc.common"));
    let entry = Entry {
        args: vec!["start".into()],
        implicit: vec!["start".into(), "boot".into()],
    };
    let got: Vec<_> = reachable(&s, &entry).iter().map(|c| c.line).collect();
    assert_eq!(got, [2, 3]);
}

#[test]
fn conditionals_may_run() {
    let s = parse(b"if [ -x /usr/sbin/telnetd ]; then telnetd; fi\n[ -f /x ] || utelnetd\nwhile false; do inetd; done");
    assert_eq!(run(&s, &[]).len(), 6);
}

// --- glob -----------------------------------------------------------------------------

#[test]
fn glob_matching() {
    use glob::{matches, Match::*};
    for (p, t, want) in [
        ("start", "start", Yes),
        ("st*", "start", Yes),
        ("*", "", Yes),
        ("?tart", "start", Yes),
        ("*a*t", "start", Yes),
        ("s*x", "start", No),
        ("[a-z]tart", "start", Yes),
        ("[!s]tart", "start", No),
        ("[^s]tart", "xtart", Yes),
        ("\\*", "*", Yes),
        ("\\*", "a", No),
        ("[", "[", Yes),
        ("[]]", "]", Yes),
        ("[[:digit:]]", "5", Yes),
        ("[[:alpha:]]", "5", No),
        ("[[:foo:]]", "5", Maybe),
        ("a*b*c*d", "aXbXcX", No),
    ] {
        assert_eq!(matches(p, t, &mut 1000), want, "{p} {t}");
    }
    let long = "a".repeat(5000);
    let mut budget = 1 << 20;
    assert_eq!(matches(&format!("{long}*b"), &long, &mut budget), Maybe);
    assert_eq!(matches("*b", &long, &mut budget), No);
    assert_eq!(budget, (1 << 20) - 3 * 5001);
}

// --- bounds ---------------------------------------------------------------------------

#[test]
fn deep_parentheses_are_bounded() {
    let s = small_stack(|| parse(&vec![b'('; 4 << 20]));
    assert!(s.commands.is_empty());
    assert!(!s.notes.is_empty() && s.notes.len() <= MAX_NOTES + 1);
    assert!(s.notes.iter().any(|n| n.message.contains("nesting deeper")));
}

#[test]
fn deep_substitutions_are_bounded() {
    let mut src = b"echo ".to_vec();
    for _ in 0..100_000 {
        src.extend_from_slice(b"$(x ");
    }
    let s = small_stack(move || parse(&src));
    assert_eq!(s.commands.len(), MAX_DEPTH + 1);
    assert!(s.commands.iter().all(|c| c.context.len() <= MAX_DEPTH));
    assert!(s.notes.iter().any(|n| n.message.contains("nesting deeper")));
}

#[test]
fn deep_backquotes_and_evals_are_bounded() {
    // Each level doubles the backslashes: 16 levels, then plain `eval` nesting.
    let mut inner = "telnetd".to_string();
    for _ in 0..16 {
        inner = format!("echo `{}`", inner.replace('\\', "\\\\").replace('`', "\\`"));
    }
    let s = small_stack(move || parse(inner.as_bytes()));
    assert_eq!(find(&s, "telnetd").context.len(), 16);
    assert!(s.notes.is_empty(), "{:?}", s.notes);
    let src = format!("{}telnetd", "eval ".repeat(200));
    let s = small_stack(move || parse(src.as_bytes()));
    assert_eq!(s.commands.len(), MAX_DEPTH + 1);
    assert!(s.notes.iter().any(|n| n.message.contains("nesting deeper")));
}

#[test]
fn skipping_a_deep_construct_resumes_after_it() {
    let deep = format!("{}hidden{}\ntelnetd\n", "{ ".repeat(70), "; }".repeat(70));
    let s = parse(deep.as_bytes());
    assert_eq!(names(&s), ["telnetd"]);
    assert_eq!(find(&s, "telnetd").line, 2);
    assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
    let deep = format!(
        "{}case x in x) a;; esac{}\ntelnetd",
        "if a; then ".repeat(70),
        "; fi".repeat(70)
    );
    let s = parse(deep.as_bytes());
    assert_eq!(names(&s).last(), Some(&"telnetd"));
    assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
}

#[test]
fn function_chains_are_bounded() {
    let s = small_stack(|| parse(&b"a() ".repeat(100_000)));
    assert!(s.notes.iter().any(|n| n.message.contains("nesting deeper")));
    let s = small_stack(|| parse(&b"function a ".repeat(100_000)));
    assert!(s.notes.iter().any(|n| n.message.contains("nesting deeper")));
}

#[test]
fn command_count_is_capped() {
    let s = parse(&b":\n".repeat(MAX_COMMANDS + 10));
    assert_eq!(s.commands.len(), MAX_COMMANDS);
    assert_eq!(s.notes.len(), 1);
}

#[test]
fn arbitrary_bytes_never_panic() {
    let samples: [&[u8]; 6] = [
        INIT,
        b"a() { b \"$(c <<E\n$(d)\nE\n)\" `e '\\`'` ${f:-${g}} $((1+$(h))); } >x 2>&1 &\ncase \"$1\" in (x|y) i;& *) j;;& esac",
        b"if [[ $a < b && ( -f x ) ]]; then eval 'k; l'; sh -c \"m\"; fi; for i in 1 2; do :; done",
        b"cat <<-\"EOF\" | while read x; do\n\tbody\n\tEOF\nn; done; function o { p; }",
        b"$'\\x41\\101' \"\\\n\" '\n' \\\r\n q\r\n",
        b"x=$(( (1) )) ${#y} ${z%%.*} <(r) >(s) t |& u",
    ];
    for sample in samples {
        for cut in 0..=sample.len() {
            let _ = reachable(&parse(&sample[..cut]), &Entry::with_args(["start"]));
        }
        for i in 0..sample.len() {
            for b in [
                b'(', b')', b'"', b'\'', b'`', b'$', b'{', b'}', b'\\', b'\n', 0, 0xff, b';', b'|',
            ] {
                let mut m = sample.to_vec();
                m[i] = b;
                let s = parse(&m);
                let _ = reachable(&s, &Entry::with_args(["start"]));
                m.insert(i, b);
                let _ = parse(&m);
            }
        }
    }
}
