import { createConnectApp } from './app.factory';
import { runServer } from './server-runner';

/** The standalone connect process: the notification stream on its own port and origin list. */
runServer('Tessera connect', createConnectApp, (config) => config.connect.port);
