// node:http behind a module of ours, for the API's server and client to import when they first
// need it: a bundle turns an import() of this into a lazy require, where an import() of the
// builtin itself would stay one (and Node 20 loses import() in code run from a V8 code cache).
import http from 'node:http';

export default http;
