// The errors of the auth store and token providers, as singletons compared by identity, with the
// texts of etcd's server/auth (store.go). The API layer maps them to etcd's gRPC errors (whose texts
// differ, e.g. "etcdserver: user name already exists" for ErrUserAlreadyExist).

export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}

export const ErrRootUserNotExist = new AuthError('auth: root user does not exist');
export const ErrRootRoleNotExist = new AuthError('auth: root user does not have root role');
export const ErrUserAlreadyExist = new AuthError('auth: user already exists');
export const ErrUserEmpty = new AuthError('auth: user name is empty');
export const ErrUserNotFound = new AuthError('auth: user not found');
export const ErrRoleAlreadyExist = new AuthError('auth: role already exists');
export const ErrRoleNotFound = new AuthError('auth: role not found');
export const ErrRoleEmpty = new AuthError('auth: role name is empty');
export const ErrPermissionNotGiven = new AuthError('auth: permission not given');
export const ErrAuthFailed = new AuthError('auth: authentication failed, invalid user ID or password');
export const ErrNoPasswordUser = new AuthError(
  'auth: authentication failed, password was given for no password user',
);
export const ErrPermissionDenied = new AuthError('auth: permission denied');
export const ErrRoleNotGranted = new AuthError('auth: role is not granted to the user');
export const ErrPermissionNotGranted = new AuthError('auth: permission is not granted to the role');
export const ErrAuthNotEnabled = new AuthError('auth: authentication is not enabled');
export const ErrAuthOldRevision = new AuthError('auth: revision in header is old');
export const ErrInvalidAuthToken = new AuthError('auth: invalid auth token');
export const ErrInvalidAuthOpts = new AuthError('auth: invalid auth options');
export const ErrInvalidAuthMgmt = new AuthError('auth: invalid auth management');
export const ErrInvalidAuthMethod = new AuthError('auth: invalid auth signature method');
export const ErrMissingKey = new AuthError('auth: missing key data');
export const ErrKeyMismatch = new AuthError("auth: public and private keys don't match");
export const ErrVerifyOnly = new AuthError('auth: token signing attempted with verify-only key');
