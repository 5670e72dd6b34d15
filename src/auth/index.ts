// The auth package: the auth store, token providers and what the API layer uses of them.

export * from './errors.js';
export { PermType, PERM_TYPE_NAMES, type Permission, type Role, type User, type UserOptions } from './authpb.js';
export { decodeRole, decodeUser, encodeRole, encodeUser, encodePermission, decodePermission } from './authpb.js';
export { parseGoDuration } from '../pkg/duration.js';
export { JwtTokenProvider, DEFAULT_JWT_TTL_MS, parseJwtOptions } from './jwtToken.js';
export { newTokenProvider, type TokenProviderConfig } from './newTokenProvider.js';
export { KeyRanges, checkKeyRange, isValidPermissionRange, mergePermissions } from './rangePermCache.js';
export { SimpleTokenProvider, DEFAULT_SIMPLE_TOKEN_TTL_MS, type IndexWaiter } from './simpleToken.js';
export {
  AuthStore,
  BCRYPT_DEFAULT_COST,
  ROOT_PERMISSION,
  ROOT_ROLE,
  ROOT_USER,
  type AuthBackend,
  type AuthStoreOptions,
  type UserAddRequest,
  type UserChangePasswordRequest,
} from './store.js';
export { NopTokenProvider, decomposeOpts, type AssignParams, type AuthInfo, type TokenProvider } from './tokenProvider.js';
