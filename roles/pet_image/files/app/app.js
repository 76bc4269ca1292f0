// stateful.pets pet app: answers with its hostname and the data stored on its own volume.
// SPDX-License-Identifier: GPL-3.0-or-later
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const port = Number(process.env.PETS_PORT || 8080);
const dataFile = process.env.PETS_DATA_FILE || '/var/data/kubia.txt';
const maxBody = 1024 * 1024;
const hostname = os.hostname();

function reply(res, status, text) {
  res.writeHead(status, {'Content-Type': 'text/plain; charset=utf-8'});
  res.end(text);
}

function store(req, res) {
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > maxBody) {
      reply(res, 413, 'Request body larger than ' + maxBody + ' bytes\n');
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    fs.mkdir(path.dirname(dataFile), {recursive: true}, (mkdirErr) => {
      if (mkdirErr) {
        reply(res, 500, 'Cannot create ' + path.dirname(dataFile) + ': ' + mkdirErr.message + '\n');
        return;
      }
      fs.writeFile(dataFile, Buffer.concat(chunks), (err) => {
        if (err) {
          reply(res, 500, 'Cannot write ' + dataFile + ': ' + err.message + '\n');
          return;
        }
        console.log('Stored ' + size + ' bytes in ' + dataFile);
        reply(res, 200, 'Data stored on pod ' + hostname + '\n');
      });
    });
  });
}

function show(res) {
  fs.readFile(dataFile, 'utf8', (err, data) => {
    if (err && err.code !== 'ENOENT') {
      reply(res, 500, 'Cannot read ' + dataFile + ': ' + err.message + '\n');
      return;
    }
    const stored = err ? 'No data posted yet' : data;
    reply(res, 200, "You've hit " + hostname + '\nData stored on this pod: ' + stored + '\n');
  });
}

const server = http.createServer((req, res) => {
  if (req.method === 'POST') {
    store(req, res);
  } else if (req.method === 'GET' || req.method === 'HEAD') {
    show(res);
  } else {
    res.setHeader('Allow', 'GET, HEAD, POST');
    reply(res, 405, 'Method ' + req.method + ' is not allowed; use GET or POST\n');
  }
});

// Exit at once on SIGTERM/SIGINT: writes are synchronous per request, so nothing is lost and pod deletion stays fast.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log('Received ' + signal + ', exiting');
    process.exit(0);
  });
}

server.listen(port, () => {
  console.log('Pet server on ' + hostname + ' listening on port ' + port + ', data file ' + dataFile);
});
