// The version tspod reports, and the Docker API version it claims compatibility with.
export const TSPOD_VERSION = '0.1.0';
export const API_VERSION = '1.41';
export const GIT_COMMIT = '';
