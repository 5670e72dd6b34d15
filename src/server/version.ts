// The etcd versions tsetcd reports (Status, /version): the API level it implements.
export const SERVER_VERSION = '3.5.0';
export const CLUSTER_VERSION = '3.5.0';
