// inspect and format: values printed roughly as Node's util.inspect and console.log print
// them. The worker compiles this chunk the first time console output needs it (an object, a
// format directive) and returns its functions to Go; no global is defined. An object may print
// itself with a method under Symbol.for('nodejs.util.inspect.custom'), as in Node.
(function () {
  'use strict';

  const ObjectKeys = Object.keys, ObjectGetPrototypeOf = Object.getPrototypeOf, ObjectIs = Object.is;
  const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const ObjectGetOwnPropertySymbols = Object.getOwnPropertySymbols;
  const ArrayIsArray = Array.isArray, ArrayBufferIsView = ArrayBuffer.isView;
  const stringify = JSON.stringify, FunctionToString = Function.prototype.toString;
  const ErrorCtor = Error;
  const custom = Symbol.for('nodejs.util.inspect.custom');

  const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
  const index = /^(0|[1-9][0-9]*)$/;
  const maxArrayItems = 100, maxStringInObject = 10000, breakLength = 72, maxDepth = 2;

  function quote(s) {
    if (s.length > maxStringInObject) {
      s = s.slice(0, maxStringInObject) + '... ' + (s.length - maxStringInObject) + ' more characters';
    }
    return "'" + s.replace(/[\\'\u0000-\u001f]/g, (c) => {
      switch (c) {
        case '\\': return '\\\\';
        case "'": return "\\'";
        case '\n': return '\\n';
        case '\r': return '\\r';
        case '\t': return '\\t';
      }
      return '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0');
    }) + "'";
  }

  function keyString(k) {
    if (typeof k === 'symbol') return '[' + k.toString() + ']';
    return identifier.test(k) ? k : quote(k);
  }

  function functionString(f) {
    let src = '';
    try { src = FunctionToString.call(f); } catch (e) { /* a revoked proxy */ }
    const name = typeof f.name === 'string' && f.name ? f.name : '(anonymous)';
    return /^class\b/.test(src) ? '[class ' + name + ']' : '[Function: ' + name + ']';
  }

  // constructorName is the name of o's constructor, '' when it has none, null for a null
  // prototype.
  function constructorName(o) {
    const proto = ObjectGetPrototypeOf(o);
    if (proto === null) return null;
    const d = ObjectGetOwnPropertyDescriptor(proto, 'constructor');
    const c = d && d.value;
    return typeof c === 'function' && typeof c.name === 'string' ? c.name : '';
  }

  // wrap joins parts on one line when it fits in breakLength, else one part per line.
  function wrap(prefix, parts, open, close, indent) {
    if (parts.length === 0) return prefix + open + close;
    const oneLine = prefix + open + ' ' + parts.join(', ') + ' ' + close;
    if (oneLine.length <= breakLength && !parts.some((p) => p.includes('\n'))) return oneLine;
    const pad = '  '.repeat(indent + 1);
    return prefix + open + '\n' + pad + parts.map((p) => p.split('\n').join('\n' + pad)).join(',\n' + pad) +
      '\n' + '  '.repeat(indent) + close;
  }

  function property(o, k, seen, depth) {
    const d = ObjectGetOwnPropertyDescriptor(o, k);
    if (d && (d.get || d.set)) return d.get && d.set ? '[Getter/Setter]' : d.get ? '[Getter]' : '[Setter]';
    return fmt(d ? d.value : o[k], seen, depth + 1);
  }

  function ownEntries(o, seen, depth, skipIndices) {
    const parts = [];
    for (const k of ObjectKeys(o)) {
      if (skipIndices && index.test(k)) continue;
      parts.push(keyString(k) + ': ' + property(o, k, seen, depth));
    }
    for (const s of ObjectGetOwnPropertySymbols(o)) {
      const d = ObjectGetOwnPropertyDescriptor(o, s);
      if (d && d.enumerable) parts.push(keyString(s) + ': ' + property(o, s, seen, depth));
    }
    return parts;
  }

  function empties(n) { return '<' + n + ' empty item' + (n > 1 ? 's' : '') + '>'; }

  function fmt(v, seen, depth) {
    switch (typeof v) {
      case 'string': return quote(v);
      case 'number': return ObjectIs(v, -0) ? '-0' : String(v);
      case 'bigint': return String(v) + 'n';
      case 'boolean': case 'undefined': return String(v);
      case 'symbol': return v.toString();
      case 'function': {
        if (ObjectKeys(v).length === 0 || depth > maxDepth) return functionString(v);
        return wrap(functionString(v) + ' ', ownEntries(v, seen.concat([v]), depth), '{', '}', depth);
      }
    }
    if (v === null) return 'null';
    if (seen.includes(v)) return '[Circular]';
    if (typeof v[custom] === 'function') {
      const inner = seen.concat([v]);
      return String(v[custom](maxDepth - depth, {}, (x) => fmt(x, inner, depth + 1)));
    }
    if (v instanceof ErrorCtor) {
      const s = typeof v.stack === 'string' && v.stack ? v.stack : String(v);
      return depth > 0 ? '[' + s.split('\n')[0] + ']' : s;
    }
    if (v instanceof Date) return isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
    if (v instanceof RegExp) return String(v);
    if (v instanceof Promise) return 'Promise { <unknown> }';
    if (v instanceof WeakMap) return 'WeakMap { <items unknown> }';
    if (v instanceof WeakSet) return 'WeakSet { <items unknown> }';
    if (v instanceof Number || v instanceof String || v instanceof Boolean) {
      return '[' + constructorName(v) + ': ' + fmt(v.valueOf(), seen, depth) + ']';
    }
    if (depth > maxDepth) {
      if (ArrayIsArray(v)) return '[Array]';
      const n = constructorName(v);
      return '[' + (n === null ? 'Object: null prototype' : n || 'Object') + ']';
    }
    seen = seen.concat([v]);
    if (ArrayIsArray(v)) {
      const parts = [];
      const n = Math.min(v.length, maxArrayItems);
      let holes = 0;
      for (let i = 0; i < n; i++) {
        if (!(i in v)) { holes++; continue; }
        if (holes) { parts.push(empties(holes)); holes = 0; }
        parts.push(property(v, i, seen, depth));
      }
      if (holes) parts.push(empties(holes));
      if (v.length > n) parts.push('... ' + (v.length - n) + ' more item' + (v.length - n > 1 ? 's' : ''));
      parts.push(...ownEntries(v, seen, depth, true));
      return wrap('', parts, '[', ']', depth);
    }
    if (v instanceof ArrayBuffer) {
      const bytes = new Uint8Array(v);
      const shown = Array.from(bytes.subarray(0, 50), (b) => b.toString(16).padStart(2, '0'));
      return 'ArrayBuffer { [Uint8Contents]: <' + shown.join(' ') +
        (bytes.length > 50 ? ' ... ' + (bytes.length - 50) + ' more bytes' : '') + '>, byteLength: ' + bytes.length + ' }';
    }
    if (ArrayBufferIsView(v) && !(v instanceof DataView)) {
      const n = Math.min(v.length, maxArrayItems);
      const parts = [];
      for (let i = 0; i < n; i++) parts.push(fmt(v[i], seen, depth + 1));
      if (v.length > n) parts.push('... ' + (v.length - n) + ' more items');
      return wrap(constructorName(v) + '(' + v.length + ') ', parts, '[', ']', depth);
    }
    if (v instanceof Map) {
      const parts = [];
      for (const [k, x] of v) parts.push(fmt(k, seen, depth + 1) + ' => ' + fmt(x, seen, depth + 1));
      return wrap('Map(' + v.size + ') ', parts, '{', '}', depth);
    }
    if (v instanceof Set) {
      const parts = [];
      for (const x of v) parts.push(fmt(x, seen, depth + 1));
      return wrap('Set(' + v.size + ') ', parts, '{', '}', depth);
    }
    const n = constructorName(v);
    const prefix = n === null ? '[Object: null prototype] ' : n && n !== 'Object' ? n + ' ' : '';
    return wrap(prefix, ownEntries(v, seen, depth), '{', '}', depth);
  }

  function inspect(v) { return fmt(v, [], 0); }

  // format is console.log's: printf-like directives in a first string argument, then every
  // other argument, strings as they are and other values inspected, separated by spaces.
  function format(...args) {
    let i = 0, out = '';
    if (typeof args[0] === 'string') {
      const f = args[0];
      i = 1;
      let last = 0;
      for (let j = 0; j < f.length - 1; j++) {
        if (f[j] !== '%') continue;
        const c = f[j + 1];
        let s;
        if (c === '%') {
          s = '%';
        } else if (i >= args.length || !'sdifjoOc'.includes(c)) {
          continue;
        } else {
          const a = args[i++];
          switch (c) {
            case 's':
              s = typeof a === 'string' ? a : typeof a === 'bigint' ? a + 'n' :
                typeof a === 'symbol' ? a.toString() : typeof a === 'object' && a !== null ? inspect(a) : String(a);
              break;
            case 'd': case 'i':
              if (typeof a === 'bigint') { s = a + 'n'; break; }
              s = typeof a === 'symbol' ? 'NaN' : String(c === 'i' ? Math.trunc(Number(a)) : Number(a));
              break;
            case 'f': s = typeof a === 'symbol' ? 'NaN' : String(parseFloat(a)); break;
            case 'j': try { s = String(stringify(a)); } catch (e) { s = '[Circular]'; } break;
            case 'o': case 'O': s = inspect(a); break;
            case 'c': s = ''; break;
          }
        }
        out += f.slice(last, j) + s;
        last = j + 2;
        j++;
      }
      out += f.slice(last);
    }
    for (; i < args.length; i++) {
      const a = args[i];
      out += (i === 0 ? '' : ' ') + (typeof a === 'string' ? a : inspect(a));
    }
    return out;
  }

  return { inspect, format };
})
