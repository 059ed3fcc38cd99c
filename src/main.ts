import { createApp } from './app.factory';
import { runServer } from './server-runner';

runServer('Tessera', createApp, (config) => config.port);
