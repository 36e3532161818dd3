import { Command, Option } from 'clipanion';
import { InvalidArgumentError, TspodError } from '../../pkg/errors';
import { TspodCommand } from './tspod-command';
import { parseTlsVerify } from './registry-flags';
import { readCertDir } from './image-push';
import type { Credentials } from '../../pkg/image/auth-store';

/** The registry a bare `login`/`logout` means: the first search registry, as Podman does. */
export function defaultRegistry(search: string[]): string {
  return search[0] ?? 'docker.io';
}

/** `host[:port]` or `host/namespace`, with Docker's `https://host/v1/` spellings reduced to the host. */
export function registryKey(arg: string): string {
  let key = arg.trim();
  const scheme = /^https?:\/\//.exec(key);
  if (scheme) key = key.slice(scheme[0].length).split('/')[0];
  key = key.replace(/\/+$/, '');
  if (key === '' || /[:@]/.test(key.split('/').slice(1).join('/'))) {
    throw new InvalidArgumentError(`invalid registry "${arg}": expected a host[:port] or host/namespace, without tag or digest`);
  }
  return key;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Questions on the terminal, in raw mode so the password is not echoed. One reader serves
 * both questions: a user name and password pasted at once arrive in one chunk.
 */
class TerminalPrompt {
  private pending = '';
  private waiter?: () => void;
  private readonly onData = (data: Buffer) => {
    this.pending += data.toString('utf8');
    this.waiter?.();
  };

  constructor(private readonly input: NodeJS.ReadStream, private readonly output: NodeJS.WriteStream) {
    input.setRawMode(true);
    input.on('data', this.onData);
    input.resume();
  }

  close(): void {
    this.input.off('data', this.onData);
    this.input.setRawMode(false);
    this.input.pause();
  }

  async ask(question: string, echo: boolean): Promise<string> {
    this.output.write(question);
    let value = '';
    for (;;) {
      while (this.pending === '') await new Promise<void>((resolve) => (this.waiter = resolve));
      const chars = [...this.pending];
      this.pending = '';
      for (const [i, ch] of chars.entries()) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          // a CR LF pair is one end of line
          this.pending = chars.slice(ch === '\r' && chars[i + 1] === '\n' ? i + 2 : i + 1).join('');
          this.output.write('\n');
          return value;
        }
        if (ch === '\u0003') {
          this.output.write('\n');
          throw new TspodError('interrupted', 130);
        }
        if (ch === '\u007f' || ch === '\b') {
          if (value !== '' && echo) this.output.write('\b \b');
          value = [...value].slice(0, -1).join('');
        } else if (ch >= ' ') {
          value += ch;
          if (echo) this.output.write(ch);
        }
      }
    }
  }
}

/** The registry refused the user name or password. */
class InvalidLoginError extends TspodError {}

function checkPassword(password: string): string {
  if (password === '') throw new InvalidArgumentError('a password is required');
  return password;
}

export class LoginCommand extends TspodCommand {
  static override paths = [['login']];
  static override usage = Command.Usage({
    description: 'Log in to a container registry',
    details:
      'Checks the credentials with the registry, then stores them in ${XDG_RUNTIME_DIR}/containers/auth.json (mode 0600), where pull and push find them; --authfile or $REGISTRY_AUTH_FILE choose another file. Without REGISTRY, the first of unqualified-search-registries in registries.conf. On a terminal, missing user name and password are asked for. Without -u, valid stored credentials are reused.',
    examples: [
      ['Log in interactively', 'tspod login quay.io'],
      ['Log in from a script', 'echo "$TOKEN" | tspod login -u robot --password-stdin registry.example.com'],
      ['Log in to a plain-HTTP registry', 'tspod login --tls-verify=false -u me localhost:5000'],
      ['Show the user logged in to a registry', 'tspod login --get-login quay.io'],
    ],
  });

  username = Option.String('-u,--username', { description: 'User name' });
  password = Option.String('-p,--password', { description: 'Password (visible to other users in ps: prefer --password-stdin)' });
  passwordStdin = Option.Boolean('--password-stdin', false, { description: 'Read the password from stdin' });
  getLogin = Option.Boolean('--get-login', false, { description: 'Print the user name logged in to the registry' });
  authfile = Option.String('--authfile', { description: 'Path of the authentication file' });
  tlsVerify = Option.String('--tls-verify', { tolerateBoolean: true, description: 'Require HTTPS and verify certificates (default from registries.conf)' });
  certDir = Option.String('--cert-dir', { description: "Directory with the registry's CA certificates (*.crt)" });
  verbose = Option.Boolean('-v,--verbose', false, { description: 'Print the file the credentials were written to' });
  registry = Option.String({ name: 'REGISTRY', required: false });

  async run(): Promise<number> {
    const { getLogin, lookupCredentials, storeCredentials } = await import('../../pkg/image/auth-store');
    const key = registryKey(this.registry ?? defaultRegistry(this.config().registries.unqualifiedSearch));
    const authStore = { authFile: this.authfile, runtimeDir: this.config().runtimeDir };
    if (this.getLogin) {
      this.out(`${await getLogin(key, authStore)}\n`);
      return 0;
    }
    if (this.password !== undefined && this.passwordStdin) throw new InvalidArgumentError('--password and --password-stdin are mutually exclusive');
    if (this.passwordStdin && this.username === undefined) throw new InvalidArgumentError('--password-stdin needs --username');

    if (this.username === undefined && this.password === undefined && !this.passwordStdin) {
      const existing = await lookupCredentials(key, authStore);
      if (existing) {
        this.out(`Authenticating with existing credentials for ${key}\n`);
        try {
          await this.verify(key, existing);
          this.out(`Existing credentials are valid. Already logged in to ${key}\n`);
          return 0;
        } catch (err) {
          if (!(err instanceof InvalidLoginError)) throw err;
          this.out('Existing credentials are invalid, please enter valid username and password\n');
        }
      }
    }

    const { username, password } = await this.credentials();
    await this.verify(key, { username, password });
    const file = await storeCredentials(key, username, password, authStore);
    if (this.verbose) this.out(`Used: ${file}\n`);
    this.out('Login Succeeded!\n');
    return 0;
  }

  /** From the flags, stdin, or questions on the terminal. */
  private async credentials(): Promise<Credentials> {
    let username = this.username ?? '';
    let password = this.passwordStdin ? (await readStdin()).replace(/\r?\n$/, '') : this.password;
    if (username !== '' && password !== undefined) return { username, password: checkPassword(password) };
    if (process.stdin.isTTY !== true) {
      throw new InvalidArgumentError(
        username === '' ? 'a user name is required: pass -u USERNAME, or run login in a terminal' : 'a password is required: pass --password-stdin, or run login in a terminal',
      );
    }
    const prompt = new TerminalPrompt(process.stdin, process.stdout);
    try {
      if (username === '') username = (await prompt.ask('Username: ', true)).trim();
      if (username === '') throw new InvalidArgumentError('a user name is required');
      password ??= await prompt.ask('Password: ', false);
    } finally {
      prompt.close();
    }
    return { username, password: checkPassword(password) };
  }

  /** Asks the registry whether it takes these credentials. */
  private async verify(key: string, credentials: Credentials): Promise<void> {
    const { hostEndpoint } = await import('../../pkg/image/registry-endpoints');
    const { RegistryClient, UnauthorizedError } = await import('../../pkg/image/registry-client');
    const host = key.split('/')[0];
    const endpoint = hostEndpoint(host, this.config().registries, { tlsVerify: parseTlsVerify(this.tlsVerify) });
    const client = new RegistryClient(endpoint, { credentials, ca: readCertDir(this.certDir) });
    try {
      await client.verifyLogin();
    } catch (err) {
      if (err instanceof UnauthorizedError) throw new InvalidLoginError(`logging in to "${key}": invalid username/password`);
      throw new TspodError(`logging in to "${key}": ${(err as Error).message}`, err instanceof TspodError ? err.exitCode : 125);
    } finally {
      client.close();
    }
  }
}
