use super::*;
use clap::CommandFactory;
use clap::error::ErrorKind;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("chat-ctl").chain(args.iter().copied()))
}

fn send_args(args: &[&str]) -> SendArgs {
    match parse(args).unwrap().command {
        Command::Send(a) => a,
        other => panic!("not send: {other:?}"),
    }
}

#[test]
fn the_clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn send_reads_stdin_without_text_or_with_a_dash() {
    assert_eq!(send_args(&["send", "bob"]).body_source(), BodySource::Stdin);
    assert_eq!(
        send_args(&["send", "bob", "-"]).body_source(),
        BodySource::Stdin
    );
    assert_eq!(
        send_args(&["send", "bob", "build done"]).body_source(),
        BodySource::Arg("build done")
    );
}

#[test]
fn send_waits_only_when_asked_and_times_out_after_30_s_by_default() {
    let a = send_args(&["send", "bob", "hi"]);
    assert_eq!(a.wait_for(), None);
    let a = send_args(&["send", "bob", "hi", "--wait"]);
    assert_eq!(a.wait_for(), Some(WaitFor::Sent));
    assert_eq!(a.timeout, Duration::from_secs(30));
    let a = send_args(&["send", "--wait-delivered", "--timeout", "2.5", "bob", "hi"]);
    assert_eq!(a.wait_for(), Some(WaitFor::Delivered));
    assert_eq!(a.timeout, Duration::from_millis(2500));
    let err = parse(&["send", "bob", "hi", "--timeout", "5"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
    for bad in ["0", "-1", "soon", "NaN"] {
        assert!(
            parse(&["send", "bob", "hi", "--wait", "--timeout", bad]).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn there_is_no_password_flag_anywhere() {
    for cmd in [
        &["login"][..],
        &["delete-account"],
        &["register", "--relay", "http://r", "--user", "alice"],
    ] {
        let mut args = cmd.to_vec();
        args.extend(["--password", "hunter2"]);
        let err = parse(&args).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownArgument, "{args:?}");
        assert_eq!(err.exit_code(), 2);
    }
    let cli = parse(&["login", "--password-stdin"]).unwrap();
    assert!(matches!(
        cli.command,
        Command::Login(LoginArgs {
            password_stdin: true,
            restore: false,
            ..
        })
    ));
}

#[test]
fn register_takes_its_flags_and_only_the_three_key_sizes() {
    let cli = parse(&[
        "register",
        "--relay",
        "https://relay.example.org",
        "--user",
        "alice",
        "--password-stdin",
        "--invite",
        "inv-1",
        "--key-bits",
        "4096",
    ])
    .unwrap();
    let Command::Register(r) = cli.command else {
        panic!("not register");
    };
    assert_eq!(r.key_bits, Some(4096));
    assert_eq!(r.invite.as_deref(), Some("inv-1"));
    assert!(r.password_stdin);
    let err = parse(&[
        "register",
        "--relay",
        "r",
        "--user",
        "alice",
        "--key-bits",
        "1024",
    ])
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidValue);
    let err = parse(&["register", "--relay", "r", "--user", "Al"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ValueValidation);
}

#[test]
fn relay_repeats_and_is_required_where_an_account_is_set_up() {
    let cli = parse(&[
        "register",
        "--relay",
        "https://a",
        "--relay",
        "https://b",
        "--user",
        "alice",
    ])
    .unwrap();
    let Command::Register(r) = cli.command else {
        panic!("not register");
    };
    assert_eq!(r.relay, ["https://a", "https://b"]);
    for cmd in [
        &["register", "--user", "alice"][..],
        &["device", "join", "CODE", "--user", "alice"],
        &["backup", "import", "f", "--user", "alice"],
        &["login", "--restore", "--user", "alice"],
    ] {
        let err = parse(cmd).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument, "{cmd:?}");
    }
    let cli = parse(&[
        "login",
        "--restore",
        "--relay",
        "https://a",
        "--relay",
        "https://b",
        "--user",
        "alice",
    ])
    .unwrap();
    let Command::Login(l) = cli.command else {
        panic!("not login");
    };
    assert_eq!(l.relay, ["https://a", "https://b"]);
    let cli = parse(&["relay", "urls", "https://a", "https://b"]).unwrap();
    let Command::Relay(RelayCommand::Urls(u)) = cli.command else {
        panic!("not relay urls");
    };
    assert_eq!(u.urls, ["https://a", "https://b"]);
    assert!(parse(&["relay", "urls"]).is_err());
}

#[test]
fn global_flags_go_before_or_after_the_command() {
    let cli = parse(&["--json", "--socket", "/tmp/s", "status"]).unwrap();
    assert!(cli.json);
    assert_eq!(cli.socket, Some(PathBuf::from("/tmp/s")));
    let cli = parse(&["status", "--json"]).unwrap();
    assert!(cli.json);
}

#[test]
fn fingerprints_are_accepted_in_any_spacing_and_checked() {
    let fp = "c7e1 0d59 a8f3 6b2e 94c0 1f7a 3e85 d26b 5a09 e7c4 82f1 4d3b b06e 19a7 f5c2 6e80";
    let mut args = vec!["contact", "verify", "bob"];
    args.extend(fp.split(' '));
    let Command::Contact(ContactCommand::Verify(v)) = parse(&args).unwrap().command else {
        panic!("not verify");
    };
    assert_eq!(v.fingerprint().unwrap(), fp);
    let Command::Contact(ContactCommand::Verify(v)) = parse(&[
        "contact",
        "verify",
        "bob",
        &fp.replace(' ', "").to_uppercase(),
    ])
    .unwrap()
    .command
    else {
        panic!("not verify");
    };
    assert_eq!(v.fingerprint().unwrap(), fp);

    let Command::Contact(ContactCommand::Add(a)) =
        parse(&["contact", "add", "bob", "--fingerprint", fp])
            .unwrap()
            .command
    else {
        panic!("not add");
    };
    assert_eq!(a.fingerprint.as_deref(), Some(fp));
    assert!(parse(&["contact", "add", "bob", "--fingerprint", "abcd"]).is_err());
    let Command::Contact(ContactCommand::Add(a)) = parse(&["contact", "add", "-"]).unwrap().command
    else {
        panic!("not add");
    };
    assert_eq!((a.source.as_str(), a.fingerprint), ("-", None));
}

#[test]
fn log_watch_and_completions_parse() {
    let Command::Log(l) = parse(&["log", "bob", "-n", "5"]).unwrap().command else {
        panic!("not log");
    };
    assert_eq!(l.limit, Some(5));
    assert!(parse(&["log", "bob", "-n", "0"]).is_err());
    let Command::Watch(w) = parse(&["watch", "--since", "0"]).unwrap().command else {
        panic!("not watch");
    };
    assert_eq!(w.since, Some(0));
    assert!(parse(&["completions", "bash"]).is_ok());
    assert!(parse(&["completions", "tcsh"]).is_err());
}

#[test]
fn a_missing_command_is_a_usage_error() {
    let err = parse(&[]).unwrap_err();
    assert_eq!(err.exit_code(), 2);
}
