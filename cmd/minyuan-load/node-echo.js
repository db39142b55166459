// node-echo.js serves a bare echo on node-webot's `wechat` middleware (npm "wechat"),
// the Node counterpart of `minyuan-load echo`: it checks the signature (msg_signature
// and decryption in safe mode), parses the XML, and answers with the text it received,
// encrypted again in safe mode. It does no work at all. One Node process: one thread
// runs all of it.
//
// perf.sh installs the package into its temporary directory and starts this with
// NODE_PATH pointing there; the package is not part of this repository.
//
//	NODE_PATH=/tmp/x/node_modules ADDR=127.0.0.1:8092 TOKEN=T APPID=A AES_KEY=K node node-echo.js
'use strict';

const http = require('http');
const wechat = require('wechat');

const [host, port] = (process.env.ADDR || '127.0.0.1:8092').split(':');
const config = { token: process.env.TOKEN, appid: process.env.APPID, checkSignature: true };
if (process.env.AES_KEY) {
  config.encodingAESKey = process.env.AES_KEY;
}
if (!config.token) {
  console.error('node-echo: TOKEN is required');
  process.exit(2);
}

// The middleware is written for connect/express, which give it req.query; plain
// http does not, so the query is parsed here.
const echo = wechat(config, (req, res) => res.reply(req.weixin.Content));

const server = http.createServer((req, res) => {
  req.query = Object.fromEntries(new URL(req.url, 'http://localhost').searchParams);
  echo(req, res, (err) => {
    res.writeHead(err ? 400 : 404);
    res.end(err ? String(err.message) : 'not found');
  });
});
server.keepAliveTimeout = 65000;
server.listen(Number(port), host, () => console.error(`node echo listening on ${host}:${port}`));
