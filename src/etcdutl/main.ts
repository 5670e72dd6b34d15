// Entry point of tsetcdutl (etcd's etcdutl): runs the command line and exits with its code.
import { runEtcdutl } from './command.js';

process.exitCode = await runEtcdutl(process.argv.slice(2));
