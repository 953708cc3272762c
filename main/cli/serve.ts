// `pythia-atlas serve`: browser mode (contract). Serves the built renderer and the same AtlasApi
// over a WebSocket on 127.0.0.1, guarded by a random token; the URL is the first stdout line.
// `--host 0.0.0.0` is refused unless `--allow-remote` is given too, and then a warning is printed
// on stderr (main/remote-engine.ts; README "Remote engine").

import { intOption, parse } from './args.ts';
import type { Command } from './commands.ts';

const USAGE =
  'usage: pythia-atlas serve [--port P] [--project FILE] [--allow-path DIR ...] [--host 0.0.0.0 --allow-remote]';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'browser mode: serve the app on 127.0.0.1 and print its URL',
  async run(argv) {
    const { values } = parse(
      argv,
      {
        port: { type: 'string' },
        project: { type: 'string' },
        'allow-path': { type: 'string', multiple: true },
        host: { type: 'string' },
        'allow-remote': { type: 'boolean' },
      },
      USAGE,
    );
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const { serve } = await import('../server.ts');
    const { checkBindHost, isLoopback, remoteWarning } = await import('../remote-engine.ts');
    const host = checkBindHost(values.host, values['allow-remote'] ?? false); // refused before anything starts
    const server = await serve({
      port: intOption(values.port, 'port', 0) ?? 0,
      project: values.project,
      allowPaths: values['allow-path'] ?? [],
      host,
      allowRemote: values['allow-remote'] ?? false,
    });
    if (!isLoopback(host)) process.stderr.write(`${remoteWarning(host, server.port)}\n`);
    process.stdout.write(`${server.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    return 0;
  },
};
