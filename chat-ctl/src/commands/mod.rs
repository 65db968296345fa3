//! One module per command; each talks to chatd through the shared IPC client
//! and prints through [`Out`].

use std::path::PathBuf;

use ipc_schema::client::{Client, default_socket_path};

use crate::cli::{
    BackupCommand, Cli, Command, ContactCommand, DeviceCommand, GroupCommand, PasswordCommand,
    RelayCommand,
};
use crate::exit::CtlError;
use crate::output::{Clock, Out};

mod account;
mod backup;
mod changes;
mod completions;
mod contact;
mod device;
mod files;
mod group;
mod identity;
mod log;
mod send;
mod status;
mod watch;

/// The name chat-ctl gives in `hello`.
pub const CLIENT_NAME: &str = concat!("chat-ctl/", env!("CARGO_PKG_VERSION"));

/// What every command needs: where chatd is, where output goes, what time it is.
pub struct Ctx {
    /// chatd's socket.
    pub socket: PathBuf,
    /// stdout, human or JSON.
    pub out: Out,
    /// For showing times.
    pub clock: Clock,
}

impl Ctx {
    /// A new connection to chatd, past `hello`.
    pub async fn connect(&self) -> Result<Client, CtlError> {
        Ok(Client::connect_as(&self.socket, CLIENT_NAME).await?)
    }
}

/// Runs commands that need no daemon; returns `false` for the others.
pub fn run_offline(cli: &Cli) -> Result<bool, CtlError> {
    match &cli.command {
        Command::Completions(args) => {
            completions::run(args)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Runs one command against chatd.
pub async fn run(cli: Cli) -> Result<(), CtlError> {
    let ctx = Ctx {
        socket: cli.socket.unwrap_or_else(default_socket_path),
        out: Out::new(cli.json),
        clock: Clock::local(),
    };
    match cli.command {
        Command::Status => status::run(&ctx).await,
        Command::Register(args) => account::register(&ctx, args).await,
        Command::Login(args) if args.restore => backup::login_restore(&ctx, args).await,
        Command::Login(args) => account::login(&ctx, args).await,
        Command::Logout => account::logout(&ctx).await,
        Command::DeleteAccount(args) => account::delete(&ctx, args).await,
        Command::Password(PasswordCommand::Change(args)) => {
            device::change_password(&ctx, args).await
        }
        Command::Device(DeviceCommand::List) => device::list(&ctx).await,
        Command::Device(DeviceCommand::Revoke(args)) => device::revoke(&ctx, args).await,
        Command::Device(DeviceCommand::Rename(args)) => device::rename(&ctx, args).await,
        Command::Device(DeviceCommand::Link(args)) => device::link(&ctx, args).await,
        Command::Device(DeviceCommand::Join(args)) => device::join(&ctx, args).await,
        Command::Backup(BackupCommand::Export(args)) => backup::export(&ctx, args).await,
        Command::Backup(BackupCommand::Enable(args)) => backup::enable(&ctx, args).await,
        Command::Backup(BackupCommand::Disable) => backup::disable(&ctx).await,
        Command::Backup(BackupCommand::Import(args)) => backup::import(&ctx, args).await,
        Command::Relay(RelayCommand::Trust(args)) => account::relay_trust(&ctx, args).await,
        Command::Relay(RelayCommand::Urls(args)) => account::relay_urls(&ctx, args).await,
        Command::Id(args) => identity::run(&ctx, args).await,
        Command::Contact(ContactCommand::Add(args)) => contact::add(&ctx, args).await,
        Command::Contact(ContactCommand::List) => contact::list(&ctx).await,
        Command::Contact(ContactCommand::AcceptKey(args)) => contact::accept_key(&ctx, args).await,
        Command::Contact(ContactCommand::RefuseKey(args)) => contact::refuse_key(&ctx, args).await,
        Command::Contact(ContactCommand::Remove(args)) => contact::remove(&ctx, args).await,
        Command::Contact(ContactCommand::Verify(args)) => contact::verify(&ctx, args).await,
        Command::Group(GroupCommand::Create(args)) => group::create(&ctx, args).await,
        Command::Group(GroupCommand::Add(args)) => group::add(&ctx, args).await,
        Command::Group(GroupCommand::Remove(args)) => group::remove(&ctx, args).await,
        Command::Group(GroupCommand::Admin(args)) => group::admin(&ctx, args).await,
        Command::Group(GroupCommand::Rename(args)) => group::rename(&ctx, args).await,
        Command::Group(GroupCommand::Leave(args)) => group::leave(&ctx, args).await,
        Command::Group(GroupCommand::List) => group::list(&ctx).await,
        Command::Group(GroupCommand::Info(args)) => group::info(&ctx, args).await,
        Command::Send(args) => send::run(&ctx, args).await,
        Command::Log(args) => log::log(&ctx, args).await,
        Command::Edit(args) => changes::edit(&ctx, args).await,
        Command::Delete(args) => changes::delete(&ctx, args).await,
        Command::React(args) => changes::react(&ctx, args).await,
        Command::Search(args) => changes::search(&ctx, args).await,
        Command::Save(args) => files::save(&ctx, args).await,
        Command::Read(args) => log::read(&ctx, args).await,
        Command::Watch(args) => watch::run(&ctx, args).await,
        Command::Completions(args) => completions::run(&args),
    }
}
