import { join } from 'node:path';

/**
 * The environment of an AWS tool (CLI, boto3) run by a test: only what the test passes, with
 * `home` standing in for the user's home so no profile, credentials file or pager of the
 * machine's user changes what the tool does.
 */
export function isolatedAwsEnv(home: string, settings: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_PAGER: '',
    ...settings,
  };
}
