// The Fetch API subset and URL classes: Headers, Response, URL, URLSearchParams and fetch.
// The worker compiles this chunk the first time a script touches one of these globals (warm
// workers compile it before their run), as a function of the native interface (vm.go), which
// no user code can reach: only the closures below hold it.
(function (native) {
  'use strict';

  const G = globalThis;
  const ObjectKeys = Object.keys, ObjectDefineProperty = Object.defineProperty;
  const ArrayFrom = Array.from, ArrayBufferIsView = ArrayBuffer.isView;
  const stringify = native.stringify, parse = native.parse;
  const PromiseReject = Promise.reject.bind(Promise), PromiseResolve = Promise.resolve.bind(Promise);
  const TypeErrorCtor = TypeError, RangeErrorCtor = RangeError;
  const SymbolIterator = Symbol.iterator;
  const custom = Symbol.for('nodejs.util.inspect.custom');

  // define replaces the accessor that loaded this chunk; a global the script has set itself
  // (fetch = myFetch) stays.
  function define(name, value) {
    const d = Object.getOwnPropertyDescriptor(G, name);
    if (d && !d.get) return;
    ObjectDefineProperty(G, name, { value, writable: true, configurable: true, enumerable: false });
  }

  const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

  function headerName(n) {
    n = String(n);
    if (!token.test(n)) throw new TypeErrorCtor("Invalid header name: '" + n + "'");
    return n.toLowerCase();
  }

  function headerValue(v) {
    v = String(v).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
    if (/[\0\r\n]/.test(v)) throw new TypeErrorCtor('Invalid header value');
    return v;
  }

  class Headers {
    #list = []; // [lower-case name, value] in insertion order

    constructor(init) {
      if (init === undefined || init === null) return;
      if (init instanceof Headers) {
        for (const [k, v] of init.#list) this.#list.push([k, v]);
      } else if (typeof init === 'object' && typeof init[SymbolIterator] === 'function') {
        for (const pair of init) {
          const p = ArrayFrom(pair);
          if (p.length !== 2) throw new TypeErrorCtor('Headers: each pair must have a name and a value');
          this.append(p[0], p[1]);
        }
      } else if (typeof init === 'object') {
        for (const k of ObjectKeys(init)) this.append(k, init[k]);
      } else {
        throw new TypeErrorCtor('Headers: give an object, an array of pairs or a Headers');
      }
    }

    append(name, value) { this.#list.push([headerName(name), headerValue(value)]); }
    delete(name) { name = headerName(name); this.#list = this.#list.filter(([k]) => k !== name); }
    get(name) {
      name = headerName(name);
      const vs = this.#list.filter(([k]) => k === name).map(([, v]) => v);
      return vs.length ? vs.join(', ') : null;
    }
    getSetCookie() { return this.#list.filter(([k]) => k === 'set-cookie').map(([, v]) => v); }
    has(name) { name = headerName(name); return this.#list.some(([k]) => k === name); }
    set(name, value) {
      name = headerName(name);
      value = headerValue(value);
      const i = this.#list.findIndex(([k]) => k === name);
      if (i < 0) { this.#list.push([name, value]); return; }
      this.#list[i] = [name, value];
      this.#list = this.#list.filter(([k], j) => k !== name || j === i);
    }
    forEach(fn, thisArg) { for (const [k, v] of this) fn.call(thisArg, v, k, this); }
    *entries() {
      const names = [...new Set(this.#list.map(([k]) => k))].sort();
      for (const n of names) {
        if (n === 'set-cookie') { for (const v of this.getSetCookie()) yield [n, v]; }
        else yield [n, this.get(n)];
      }
    }
    *keys() { for (const [k] of this.entries()) yield k; }
    *values() { for (const [, v] of this.entries()) yield v; }
    [SymbolIterator]() { return this.entries(); }
    [custom](depth, options, inspect) {
      const o = {};
      for (const [k, v] of this) o[k] = v;
      return 'Headers ' + inspect(o);
    }

    // pairs is the list as the worker sends it.
    static pairs(h) { return h.#list.map(([k, v]) => [k, v]); }
  }
  const headerPairs = Headers.pairs;
  delete Headers.pairs;

  // ---- Response ----

  let internalResponse = false;

  function bodyBytes(body) {
    if (body === undefined || body === null) return null;
    if (body instanceof ArrayBuffer) return body.slice(0);
    if (ArrayBufferIsView(body)) return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength);
    if (body instanceof URLSearchParams) return native.encodeUTF8(body.toString());
    return native.encodeUTF8(String(body));
  }

  class Response {
    #body; #used = false;

    constructor(body, init) {
      init = init || {};
      const status = init.status === undefined ? 200 : Number(init.status);
      if (!internalResponse && !(status >= 200 && status <= 599 && Number.isInteger(status))) {
        throw new RangeErrorCtor('Response: status ' + init.status + ' is not an integer from 200 to 599');
      }
      this.#body = internalResponse ? body : bodyBytes(body);
      ObjectDefineProperty(this, 'status', { value: status, enumerable: true });
      ObjectDefineProperty(this, 'statusText', { value: init.statusText === undefined ? '' : String(init.statusText), enumerable: true });
      ObjectDefineProperty(this, 'headers', { value: new Headers(init.headers), enumerable: true });
      ObjectDefineProperty(this, 'url', { value: internalResponse ? String(init.url) : '', enumerable: true });
      ObjectDefineProperty(this, 'redirected', { value: !!(internalResponse && init.redirected), enumerable: true });
    }

    get ok() { return this.status >= 200 && this.status <= 299; }
    get bodyUsed() { return this.#used; }
    get type() { return 'basic'; }

    #take() {
      if (this.#used) return PromiseReject(new TypeErrorCtor('Response: body has already been read'));
      this.#used = true;
      return PromiseResolve(this.#body === null ? new ArrayBuffer(0) : this.#body);
    }
    arrayBuffer() { return this.#take(); }
    bytes() { return this.#take().then((b) => new Uint8Array(b)); }
    text() { return this.#take().then((b) => native.decodeUTF8(b)); }
    json() { return this.text().then(parse); }
    clone() {
      if (this.#used) throw new TypeErrorCtor('Response: body has already been read');
      return makeResponse({ status: this.status, statusText: this.statusText, headers: headerPairs(this.headers),
        url: this.url, redirected: this.redirected, body: this.#body === null ? null : this.#body.slice(0) });
    }
    [custom](depth, options, inspect) {
      return 'Response ' + inspect({ status: this.status, statusText: this.statusText, url: this.url, headers: this.headers });
    }

    static json(data, init) {
      const body = stringify(data);
      if (body === undefined) throw new TypeErrorCtor('Response.json: the value cannot be serialised as JSON');
      const h = new Headers(init && init.headers);
      if (!h.has('content-type')) h.set('content-type', 'application/json');
      return new Response(body, { status: init && init.status, statusText: init && init.statusText, headers: h });
    }
  }

  function makeResponse(raw) {
    internalResponse = true;
    try {
      return new Response(raw.body, raw);
    } finally {
      internalResponse = false;
    }
  }

  // ---- URLSearchParams and URL ----

  function formEncode(s) {
    return encodeURIComponent(s).replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()).replace(/%20/g, '+');
  }

  function formDecode(s) {
    s = s.replace(/\+/g, ' ');
    try { return decodeURIComponent(s); } catch (e) { return s; }
  }

  let searchOwner = null; // the URL whose searchParams is being built

  class URLSearchParams {
    #list = []; #url = null;

    constructor(init) {
      this.#url = searchOwner;
      if (init === undefined || init === null) return;
      if (typeof init === 'object' && typeof init[SymbolIterator] === 'function') {
        for (const pair of init) {
          const p = ArrayFrom(pair);
          if (p.length !== 2) throw new TypeErrorCtor('URLSearchParams: each pair must have a name and a value');
          this.#list.push([String(p[0]), String(p[1])]);
        }
      } else if (typeof init === 'object') {
        for (const k of ObjectKeys(init)) this.#list.push([k, String(init[k])]);
      } else {
        this.#parse(String(init));
      }
    }

    #parse(s) {
      this.#list = [];
      if (s.startsWith('?')) s = s.slice(1);
      for (const part of s.split('&')) {
        if (part === '') continue;
        const i = part.indexOf('=');
        this.#list.push(i < 0 ? [formDecode(part), ''] : [formDecode(part.slice(0, i)), formDecode(part.slice(i + 1))]);
      }
    }
    #changed() { if (this.#url) this.#url.search = this.toString(); }

    get size() { return this.#list.length; }
    append(k, v) { this.#list.push([String(k), String(v)]); this.#changed(); }
    delete(k, v) {
      k = String(k);
      this.#list = this.#list.filter(([a, b]) => a !== k || (v !== undefined && b !== String(v)));
      this.#changed();
    }
    get(k) { k = String(k); const e = this.#list.find(([a]) => a === k); return e ? e[1] : null; }
    getAll(k) { k = String(k); return this.#list.filter(([a]) => a === k).map(([, b]) => b); }
    has(k, v) { k = String(k); return this.#list.some(([a, b]) => a === k && (v === undefined || b === String(v))); }
    set(k, v) {
      k = String(k); v = String(v);
      const i = this.#list.findIndex(([a]) => a === k);
      if (i < 0) this.#list.push([k, v]);
      else this.#list = this.#list.filter(([a], j) => a !== k || j === i).map((e) => (e[0] === k ? [k, v] : e));
      this.#changed();
    }
    sort() { this.#list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)); this.#changed(); }
    forEach(fn, thisArg) { for (const [k, v] of this.#list) fn.call(thisArg, v, k, this); }
    *entries() { for (const [k, v] of this.#list) yield [k, v]; }
    *keys() { for (const [k] of this.#list) yield k; }
    *values() { for (const [, v] of this.#list) yield v; }
    [SymbolIterator]() { return this.entries(); }
    toString() { return this.#list.map(([k, v]) => formEncode(k) + '=' + formEncode(v)).join('&'); }
    [custom](depth, options, inspect) {
      return 'URLSearchParams ' + inspect(this.#list.map(([k, v]) => k + '=' + v));
    }

    static reset(p, search) { p.#parse(search); }
  }
  const resetSearch = URLSearchParams.reset;
  delete URLSearchParams.reset;

  class URL {
    #parts; #params;

    constructor(url, base) {
      this.#parts = native.parseURL(String(url), base === undefined ? undefined : String(base));
      searchOwner = this;
      try { this.#params = new URLSearchParams(this.#parts.search); } finally { searchOwner = null; }
    }

    static canParse(url, base) { try { new URL(url, base); return true; } catch (e) { return false; } }
    static parse(url, base) { try { return new URL(url, base); } catch (e) { return null; } }

    #set(field, value) {
      const p = native.setURL(this.#parts.href, field, String(value));
      this.#parts = p;
      resetSearch(this.#params, p.search);
    }

    get href() { return this.#parts.href; }
    set href(v) { this.#parts = native.parseURL(String(v)); resetSearch(this.#params, this.#parts.search); }
    get origin() { return this.#parts.origin; }
    get protocol() { return this.#parts.protocol; }
    set protocol(v) { this.#set('protocol', v); }
    get username() { return this.#parts.username; }
    set username(v) { this.#set('username', v); }
    get password() { return this.#parts.password; }
    set password(v) { this.#set('password', v); }
    get host() { return this.#parts.host; }
    set host(v) { this.#set('host', v); }
    get hostname() { return this.#parts.hostname; }
    set hostname(v) { this.#set('hostname', v); }
    get port() { return this.#parts.port; }
    set port(v) { this.#set('port', v); }
    get pathname() { return this.#parts.pathname; }
    set pathname(v) { this.#set('pathname', v); }
    get search() { return this.#parts.search; }
    set search(v) { this.#set('search', v); }
    get hash() { return this.#parts.hash; }
    set hash(v) { this.#set('hash', v); }
    get searchParams() { return this.#params; }
    toString() { return this.href; }
    toJSON() { return this.href; }
    [custom](depth, options, inspect) { return 'URL ' + inspect({ href: this.href }); }
  }

  // ---- fetch ----

  const plainMethods = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH'];

  function fetch(input, init) {
    try {
      init = init === undefined || init === null ? {} : init;
      let url;
      if (input instanceof URL) url = input.href;
      else if (input !== null && typeof input === 'object' && typeof input.url === 'string') url = input.url;
      else url = String(input);
      let method = init.method === undefined ? 'GET' : String(init.method);
      if (!token.test(method)) throw new TypeErrorCtor("fetch: '" + method + "' is not a valid HTTP method");
      if (plainMethods.includes(method.toUpperCase())) method = method.toUpperCase();
      const headers = new Headers(init.headers);
      let body = init.body;
      if (body === undefined || body === null) {
        body = undefined;
      } else if (typeof body === 'string') {
        if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
      } else if (body instanceof URLSearchParams) {
        body = body.toString();
        if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
      } else if (body instanceof ArrayBuffer || ArrayBufferIsView(body)) {
        body = bodyBytes(body);
      } else if (typeof body === 'object') {
        // Not in the Fetch standard: a plain object or array is sent as JSON.
        body = stringify(body);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      } else {
        body = String(body);
      }
      if ((method === 'GET' || method === 'HEAD') && body !== undefined) {
        throw new TypeErrorCtor('fetch: a ' + method + ' request cannot have a body');
      }
      return native.fetch(url, method, headerPairs(headers), body).then(makeResponse);
    } catch (e) {
      return PromiseReject(e);
    }
  }

  define('Headers', Headers);
  define('Response', Response);
  define('URL', URL);
  define('URLSearchParams', URLSearchParams);
  define('fetch', fetch);
})
