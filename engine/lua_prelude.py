"""The Lua prelude of generated interpreter scripts: kpl's value semantics and built-ins in Lua 5.1.

The prelude is a list of chunks. Each starts with a ``--@ name: dependency ...`` line; a generated script
carries only the chunks its code uses (and what those use in turn), in prelude order. Every function is a
field of one local table ``K`` so a script needs few upvalues, and nothing here calls ``setmetatable`` or
``getmetatable`` (Karmada's Lua VM refuses them).

How kpl values live in Lua: null is ``nil``; numbers, strings and booleans are Lua's own; lists and
objects are tables. A table built by kpl code is registered in ``KIND`` as a list (with its length, so
nulls may sit inside) or an object; a table that came from Karmada is a list when it has a first element,
an object otherwise, and an empty one serves as either. A quantity is a table ``{q = canonical text}``
registered as ``"Q"`` and computed with the ``kube`` library.
"""

from __future__ import annotations

import re
from functools import cache

__all__ = ["PRELUDE_CHUNKS", "prelude_for"]

_PRELUDE = r"""
--@ base:
local K = {}
local KIND = {}
local LEN = {}
function K.err(message) error(message, 0) end
function K.list(t, n) KIND[t] = "L"; LEN[t] = n or #t; return t end
function K.map(t) KIND[t] = "M"; return t end
function K.isq(v) return type(v) == "table" and KIND[v] == "Q" end
function K.islist(v)
  if type(v) ~= "table" then return false end
  local kind = KIND[v]
  if kind ~= nil then return kind == "L" end
  return v[1] ~= nil or next(v) == nil
end
function K.ismap(v)
  if type(v) ~= "table" then return false end
  local kind = KIND[v]
  if kind ~= nil then return kind == "M" end
  return v[1] == nil
end
function K.size(t) return LEN[t] or #t end
function K.integral(v) return v == math.floor(v) and v > -9.2e18 and v < 9.2e18 end
function K.typename(v)
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "boolean" then return "bool" end
  if t == "number" then if K.integral(v) then return "int" end return "number" end
  if t == "table" then
    if KIND[v] == "Q" then return "quantity" end
    if K.islist(v) then return "list" end
    return "object"
  end
  return t
end
function K.t(v)
  if v == nil then return false end
  if type(v) == "boolean" then return v end
  K.err("expected a bool, got " .. K.typename(v))
end
function K.sortedkeys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) then return a < b end
    return type(a) == "number"
  end)
  return keys
end
function K.elems(v, message)
  if v == nil then return {}, 0 end
  if type(v) == "table" and KIND[v] ~= "Q" then
    if K.islist(v) then return v, K.size(v) end
    local out, keys = {}, K.sortedkeys(v)
    for i, k in ipairs(keys) do out[i] = v[k] end
    return out, #keys
  end
  K.err((message or "`[*]` needs a list or an object, got ") .. K.typename(v))
end
function K.aslist(v, fn) return K.elems(v, "`" .. fn .. "` expects a list, got ") end
function K.co(v, f) if v == nil then return f() end return v end
function K.co2(v, w) if v == nil then return w end return v end

--@ path: base
function K.step(v, key)
  if v == nil then return nil end
  if type(v) ~= "table" or KIND[v] == "Q" then
    if type(key) == "string" then K.err("cannot read field `" .. key .. "` of a " .. K.typename(v)) end
    K.err("cannot index a " .. K.typename(v))
  end
  if type(key) == "string" then
    if K.islist(v) and next(v) ~= nil then return nil end
    return v[key]
  end
  if K.islist(v) then
    local n = K.size(v)
    local i = key
    if i < 0 then i = n + i end
    if i >= 0 and i < n then return v[i + 1] end
    return nil
  end
  return v[string.format("%d", key)]
end
function K.path(v, ...)
  for i = 1, select("#", ...) do
    if v == nil then return nil end
    v = K.step(v, (select(i, ...)))
  end
  return v
end
function K.index(v, key)
  if key == nil then return nil end
  if type(key) == "number" then
    if key ~= key or key ~= math.floor(key) or key == math.huge or key == -math.huge then
      K.err("an index must be an int or a string, got number")
    end
  elseif type(key) ~= "string" then
    K.err("an index must be an int or a string, got " .. K.typename(key))
  end
  return K.step(v, key)
end

--@ wild: base
function K.wild(base, steps)
  local current, n = {base}, 1
  for _, s in ipairs(steps) do
    local nxt, m = {}, 0
    for i = 1, n do
      local v = current[i]
      if type(v) == "table" and KIND[v] ~= "Q" then
        local list = K.islist(v) and next(v) ~= nil
        if s[1] == "f" and not list then
          local x = v[s[2]]
          if x ~= nil then m = m + 1; nxt[m] = x end
        elseif s[1] == "i" and list then
          if s[2] < K.size(v) and v[s[2] + 1] ~= nil then m = m + 1; nxt[m] = v[s[2] + 1] end
        elseif s[1] == "*" then
          local items, count = K.elems(v)
          for j = 1, count do
            if items[j] ~= nil then m = m + 1; nxt[m] = items[j] end
          end
        end
      end
    end
    current, n = nxt, m
  end
  return K.list(current, n)
end

--@ filter: base
function K.filter(v, keep)
  local items, n = K.elems(v)
  local out, m = {}, 0
  for i = 1, n do
    if K.t(keep(items[i])) then m = m + 1; out[m] = items[i] end
  end
  return K.list(out, m)
end

--@ project: path
function K.project(v, name)
  local out, m = {}, 0
  for i = 1, K.size(v) do
    local x = K.step(v[i], name)
    if x ~= nil then m = m + 1; out[m] = x end
  end
  return K.list(out, m)
end

--@ quantity: str
function K.kube()
  if K.kubelib == nil then K.kubelib = require("kube") end
  return K.kubelib
end
function K.q(text) local out = {q = text}; KIND[out] = "Q"; return out end
function K.asq(v)
  if K.isq(v) then return v end
  local text = v
  if type(v) == "number" then text = K.numtext(v) elseif type(v) ~= "string" then return nil end
  local ok, result = pcall(K.kube().resourceAdd, text)
  if not ok then return nil end
  return K.q(result)
end
function K.negtext(text)
  if string.sub(text, 1, 1) == "-" then return string.sub(text, 2) end
  return "-" .. text
end
function K.qneg(a) return K.q(K.kube().resourceAdd(K.negtext(a.q))) end
function K.qadd(a, b) return K.q(K.kube().resourceAdd(a.q, b.q)) end
function K.qcmp(a, b)
  local d = K.kube().resourceAdd(a.q, K.negtext(b.q))
  if d == "0" then return 0 end
  if string.sub(d, 1, 1) == "-" then return -1 end
  return 1
end
function K.qmul(a, n)
  if n < 0 then a, n = K.qneg(a), -n end
  local total, step = K.q("0"), a
  while n > 0 do
    if n % 2 == 1 then total = K.qadd(total, step) end
    n = math.floor(n / 2)
    if n > 0 then step = K.qadd(step, step) end
  end
  if total.q == "0" then return K.q(K.kube().resourceAdd(a.q, K.negtext(a.q))) end
  return total
end
function K.quantity(v)
  if v == nil then return nil end
  if K.isq(v) then return v end
  if type(v) ~= "string" and type(v) ~= "number" then
    K.err("`quantity` expects a string or a number, got " .. K.typename(v))
  end
  local q = K.asq(v)
  if q == nil then K.err("invalid quantity `" .. K.str(v) .. "`") end
  return q
end
function K.qarg(v) if K.isq(v) then return v.q end return v end

--@ repr: base
function K.numtext(v)
  if K.integral(v) then return string.format("%d", v) end
  return K.repr(v)
end
function K.repr(v)
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  local text
  for p = 0, 16 do
    text = string.format("%." .. p .. "e", v)
    if tonumber(text) == v then break end
  end
  local sign, digits, frac, exp = string.match(text, "^(-?)(%d)%.?(%d*)e([-+]%d+)$")
  exp = tonumber(exp)
  digits = digits .. frac
  if exp >= -4 and exp < 16 then
    local point = exp + 1
    local body
    if point <= 0 then body = "0." .. string.rep("0", -point) .. digits
    elseif point >= #digits then body = digits .. string.rep("0", point - #digits) .. ".0"
    else body = string.sub(digits, 1, point) .. "." .. string.sub(digits, point + 1) end
    return sign .. body
  end
  local mantissa = string.sub(digits, 1, 1)
  if #digits > 1 then mantissa = mantissa .. "." .. string.sub(digits, 2) end
  local e = string.format("%02d", math.abs(exp))
  if exp < 0 then e = "-" .. e else e = "+" .. e end
  return sign .. mantissa .. "e" .. e
end

--@ json: repr
function K.jsonstr(s)
  local out = string.gsub(s, '[%c"\\\128-\255]+', function(run)
    local parts = {}
    local i = 1
    while i <= #run do
      local c = string.byte(run, i)
      local code, size = c, 1
      if c >= 240 then code, size = c % 8, 4 elseif c >= 224 then code, size = c % 16, 3
      elseif c >= 192 then code, size = c % 32, 2 end
      for j = 1, size - 1 do code = code * 64 + (string.byte(run, i + j) or 128) % 64 end
      i = i + size
      if code == 34 then parts[#parts + 1] = '\\"' elseif code == 92 then parts[#parts + 1] = "\\\\"
      elseif code == 10 then parts[#parts + 1] = "\\n" elseif code == 13 then parts[#parts + 1] = "\\r"
      elseif code == 9 then parts[#parts + 1] = "\\t" elseif code == 8 then parts[#parts + 1] = "\\b"
      elseif code == 12 then parts[#parts + 1] = "\\f"
      elseif code >= 65536 then
        code = code - 65536
        parts[#parts + 1] = string.format("\\u%04x\\u%04x", 55296 + math.floor(code / 1024), 56320 + code % 1024)
      else parts[#parts + 1] = string.format("\\u%04x", code) end
    end
    return table.concat(parts)
  end)
  return '"' .. out .. '"'
end
function K.json(v)
  local t = type(v)
  if v == nil then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then return K.numtext(v) end
  if t == "string" then return K.jsonstr(v) end
  if KIND[v] == "Q" then return K.jsonstr(v.q) end
  local parts = {}
  if K.islist(v) and (next(v) ~= nil or KIND[v] == "L") then
    for i = 1, K.size(v) do parts[i] = K.json(v[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  for _, k in ipairs(K.sortedkeys(v)) do parts[#parts + 1] = K.jsonstr(tostring(k)) .. ":" .. K.json(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

--@ str: json
function K.str(v)
  local t = type(v)
  if v == nil then return "" end
  if t == "boolean" then if v then return "true" end return "false" end
  if t == "number" then
    if K.integral(v) and math.abs(v) < 1e15 then return string.format("%d", v) end
    if K.integral(v) then return string.format("%d", v) end
    return K.repr(v)
  end
  if t == "string" then return v end
  if KIND[v] == "Q" then return v.q end
  return K.json(v)
end

--@ equal: quantity
function K.deq(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return false end
  if ta ~= "table" then return a == b end
  if KIND[a] == "Q" or KIND[b] == "Q" then return KIND[a] == KIND[b] and K.qcmp(a, b) == 0 end
  if next(a) == nil and next(b) == nil then
    return KIND[a] == nil or KIND[b] == nil or KIND[a] == KIND[b]
  end
  local la, lb = K.islist(a), K.islist(b)
  if la ~= lb then return false end
  if la then
    local n = K.size(a)
    if n ~= K.size(b) then return false end
    for i = 1, n do if not K.deq(a[i], b[i]) then return false end end
    return true
  end
  for k, x in pairs(a) do if not K.deq(x, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
function K.eq(a, b)
  local ta, tb = type(a), type(b)
  if ta == "boolean" or tb == "boolean" then return a == b end
  if ta == "number" and tb == "number" then return a == b end
  if K.isq(a) or K.isq(b) then
    local qa, qb = K.asq(a), K.asq(b)
    if qa == nil or qb == nil then return false end
    return K.qcmp(qa, qb) == 0
  end
  return K.deq(a, b)
end
function K.member(item, c)
  if c == nil then return false end
  if type(c) == "string" then return type(item) == "string" and string.find(c, item, 1, true) ~= nil end
  if type(c) == "table" and KIND[c] ~= "Q" then
    if K.islist(c) and (next(c) ~= nil or KIND[c] == "L") then
      for i = 1, K.size(c) do if K.eq(item, c[i]) then return true end end
      return false
    end
    if type(item) == "table" and KIND[item] ~= "Q" then K.err("unhashable type: " .. K.typename(item)) end
    return type(item) == "string" and c[item] ~= nil
  end
  K.err("`in` needs a list, an object or a string, got " .. K.typename(c))
end

--@ compare: equal
function K.cmp(op, a, b)
  if op == "==" then return K.eq(a, b) end
  if op == "!=" then return not K.eq(a, b) end
  if op == "in" then return K.member(a, b) end
  if op == "not in" then return not K.member(a, b) end
  if a == nil or b == nil then return false end
  if K.isq(a) or K.isq(b) then
    local qa, qb = K.asq(a), K.asq(b)
    if qa == nil or qb == nil then
      K.err("cannot compare " .. K.typename(qa) .. " with " .. K.typename(qb) .. " using `" .. op .. "`")
    end
    a, b = K.qcmp(qa, qb), 0
  elseif not ((type(a) == "number" and type(b) == "number") or (type(a) == "string" and type(b) == "string")) then
    K.err("cannot compare " .. K.typename(a) .. " with " .. K.typename(b) .. " using `" .. op .. "`")
  end
  if op == "<" then return a < b end
  if op == "<=" then return a <= b end
  if op == ">" then return a > b end
  return a >= b
end

--@ arith: quantity
function K.concat(a, b)
  local out, n = {}, K.size(a)
  for i = 1, n do out[i] = a[i] end
  local m = K.size(b)
  for i = 1, m do out[n + i] = b[i] end
  return K.list(out, n + m)
end
function K.arith(op, a, b)
  if type(a) == "number" and type(b) == "number" then
    if (op == "/" or op == "//" or op == "%") and b == 0 then K.err("division by zero") end
    local r
    if op == "+" then r = a + b elseif op == "-" then r = a - b elseif op == "*" then r = a * b
    elseif op == "/" then r = a / b elseif op == "//" then r = math.floor(a / b)
    else r = a - math.floor(a / b) * b end
    if r ~= r or r == math.huge or r == -math.huge then K.err("the result is not a finite number") end
    return r
  end
  if op == "+" and type(a) == "string" and type(b) == "string" then return a .. b end
  local list_a = K.islist(a) and not K.isq(a)
  if op == "+" and list_a and K.islist(b) and not K.isq(b) then return K.concat(a, b) end
  if K.isq(a) or K.isq(b) then
    if op == "+" or op == "-" then
      local qa, qb = K.asq(a), K.asq(b)
      if qa ~= nil and qb ~= nil then
        if op == "-" then qb = K.qneg(qb) end
        return K.qadd(qa, qb)
      end
    elseif op == "*" then
      local q, f = a, b
      if not K.isq(a) then q, f = b, a end
      if type(f) == "number" and K.integral(f) then return K.qmul(q, f) end
    end
  end
  K.err("cannot apply `" .. op .. "` to " .. K.typename(a) .. " and " .. K.typename(b))
end
function K.neg(v)
  if type(v) == "number" then return -v end
  if K.isq(v) then return K.qneg(v) end
  K.err("cannot negate a " .. K.typename(v))
end

--@ build: base
function K.spread(out, n, v)
  local items, count = K.elems(v)
  for i = 1, count do out[n + i] = items[i] end
  return n + count
end
function K.merge_into(out, v)
  if v == nil then return end
  if not K.ismap(v) then K.err("`...` in an object needs an object, got " .. K.typename(v)) end
  for k, x in pairs(v) do out[k] = x end
end
function K.key(k)
  if type(k) ~= "string" then K.err("an object key must be a string, got " .. K.typename(k)) end
  return k
end

--@ comprehension: base
function K.pairs_of(v, two)
  if two and type(v) == "table" and KIND[v] ~= "Q" and not K.islist(v) then
    local out, keys = {}, K.sortedkeys(v)
    for i, k in ipairs(keys) do out[i] = K.list({k, v[k]}, 2) end
    return out, #keys
  end
  return K.elems(v)
end
function K.unpack2(item, names)
  if K.islist(item) and not K.isq(item) and K.size(item) == 2 then return item[1], item[2] end
  K.err("cannot unpack a " .. K.typename(item) .. " into `" .. names .. "`")
end

--@ with: base
function K.copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  KIND[out] = "M"
  return out
end
function K.assign(obj, path, i, value)
  local head = path[i]
  if i == #path then obj[head] = value; return obj end
  local child = obj[head]
  if child ~= nil and not K.ismap(child) then
    K.err("cannot set a field inside `" .. head .. "`, a " .. K.typename(child))
  end
  if child == nil and value == nil then return obj end
  obj[head] = K.assign(K.copy(child or {}), path, i + 1, value)
  return obj
end
function K.with(base, updates)
  if base == nil then base = {} end
  if not K.ismap(base) then K.err("`with` needs an object, got " .. K.typename(base)) end
  local out = K.copy(base)
  for _, u in ipairs(updates) do out = K.assign(out, u[1], 1, u[2]()) end
  return out
end

--@ lazy: base
function K.lazy(f)
  local done, value = false, nil
  return function()
    if not done then value = f(); done = true end
    return value
  end
end
function K.arity(name, want, got)
  if want ~= got then K.err("takes " .. want .. " arguments, got " .. got) end
end

--@ out: base
function K.empty(x) return type(x) == "table" and KIND[x] ~= "Q" and next(x) == nil end
function K.out(v, drop)
  if type(v) ~= "table" then return v end
  if KIND[v] == "Q" then return v.q end
  local r = {}
  if K.islist(v) and (next(v) ~= nil or KIND[v] == "L") then
    local m = 0
    for i = 1, K.size(v) do
      local x = v[i]
      if not (drop and K.empty(x)) then m = m + 1; r[m] = K.out(x, drop) end
    end
    return r
  end
  for k, x in pairs(v) do
    if not (drop and K.empty(x)) then r[k] = K.out(x, drop) end
  end
  return r
end
function K.replicas(v)
  if v == nil then return 0 end
  if type(v) ~= "number" then K.err("`replicas` must be a number, got " .. K.typename(v)) end
  if v ~= v or v == math.huge or v == -math.huge then K.err("`replicas` is not a finite number") end
  if v < 0 then v = math.ceil(v) else v = math.floor(v) end
  if v > 2147483647 then return 2147483647 end
  if v < -2147483648 then return -2147483648 end
  return v
end
function K.health(v)
  if type(v) ~= "boolean" then K.err("`health` must be a bool, got " .. K.typename(v)) end
  return v
end
function K.component(item)
  if not K.ismap(item) or type(item.name) ~= "string" then
    K.err("a component must be an object with a string `name`")
  end
  local replicas = item.replicas
  if replicas ~= nil and type(replicas) ~= "number" then
    K.err("component `replicas` must be a number, got " .. K.typename(replicas))
  end
  if replicas ~= nil and replicas ~= math.floor(replicas) then K.err("component `replicas` must be a whole number") end
  return K.out(item, true)
end
function K.components(v)
  if v == nil then return {} end
  if not K.islist(v) or K.isq(v) then K.err("`components` must be a list, got " .. K.typename(v)) end
  local out = {}
  for i = 1, K.size(v) do out[i] = K.component(v[i]) end
  return out
end

--@ fn_numeric: base
function K.num(v, fn)
  if type(v) ~= "number" then K.err("`" .. fn .. "` expects a number, got " .. K.typename(v)) end
  return v
end
function K.finite(v, fn)
  if v ~= v or v == math.huge or v == -math.huge then K.err("`" .. fn .. "` of a non-finite number") end
  return v
end
function K.string(v, fn)
  if type(v) ~= "string" then K.err("`" .. fn .. "` expects a string, got " .. K.typename(v)) end
  return v
end

--@ fn_tonumber: base
function K.tonumber(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil end
  local text = string.match(v, "^%s*(.-)%s*$")
  local sign, hex = string.match(text, "^([+-]?)0[xX](%x+)$")
  if hex ~= nil then
    local n = tonumber(hex, 16)
    if sign == "-" then return -n end
    return n
  end
  local digits = string.match(text, "^[+-]?(%d+)$")
  if digits ~= nil then
    if string.sub(digits, 1, 1) == "0" and string.match(digits, "^0+$") == nil then return nil end
    return tonumber(text)
  end
  local lower = string.lower(text)
  local s, word = string.match(lower, "^([+-]?)(%a+)$")
  if word == "inf" or word == "infinity" then if s == "-" then return -math.huge end return math.huge end
  if word == "nan" then return 0 / 0 end
  if string.match(text, "^[+-]?%d+%.?%d*[eE][+-]?%d+$") or string.match(text, "^[+-]?%.%d+[eE][+-]?%d+$")
      or string.match(text, "^[+-]?%d+%.%d*$") or string.match(text, "^[+-]?%.%d+$") then
    return tonumber(text)
  end
  return nil
end
"""

_FUNCTIONS = r"""
--@ f_len: base
function K.f_len(v)
  if v == nil then return 0 end
  if type(v) == "string" then
    local _, count = string.gsub(v, "[^\128-\191]", "")
    return count
  end
  if type(v) ~= "table" or KIND[v] == "Q" then
    K.err("`len` expects a string, list or object, got " .. K.typename(v))
  end
  if K.islist(v) then return K.size(v) end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n
end
--@ f_abs: fn_numeric
function K.f_abs(v) return math.abs(K.num(v, "abs")) end
--@ f_all: base
function K.f_all(v)
  local items, n = K.aslist(v, "all")
  for i = 1, n do if items[i] ~= true then return false end end
  return true
end
--@ f_any: base
function K.f_any(v)
  local items, n = K.aslist(v, "any")
  for i = 1, n do if items[i] == true then return true end end
  return false
end
--@ f_ceil: fn_numeric
function K.f_ceil(v) return math.ceil(K.finite(K.num(v, "ceil"), "ceil")) end
--@ f_floor: fn_numeric
function K.f_floor(v) return math.floor(K.finite(K.num(v, "floor"), "floor")) end
--@ f_contains: equal
function K.f_contains(c, item)
  if c == nil then return false end
  if type(c) == "string" then
    if type(item) ~= "string" then K.err("`contains` on a string needs a string, got " .. K.typename(item)) end
    return string.find(c, item, 1, true) ~= nil
  end
  if K.ismap(c) and next(c) ~= nil then return type(item) == "string" and c[item] ~= nil end
  local items, n = K.aslist(c, "contains")
  for i = 1, n do if K.deq(items[i], item) or (type(item) == "number" and items[i] == item) then return true end end
  return false
end
--@ f_endswith: fn_numeric
function K.f_endswith(v, s)
  K.string(s, "endswith")
  return type(v) == "string" and (s == "" or string.sub(v, -#s) == s)
end
--@ f_startswith: fn_numeric
function K.f_startswith(v, s)
  K.string(s, "startswith")
  return type(v) == "string" and string.sub(v, 1, #s) == s
end
--@ f_enumerate: fn_numeric
function K.f_enumerate(v, start)
  local offset = K.num(start or 0, "enumerate")
  local items, n = K.aslist(v, "enumerate")
  local out = {}
  for i = 1, n do out[i] = K.list({i - 1 + offset, items[i]}, 2) end
  return K.list(out, n)
end
--@ f_exists: base
function K.f_exists(v) return v ~= nil end
--@ f_fail: str
function K.f_fail(message)
  local text = K.str(message)
  if text == "" then text = "the rule failed" end
  K.err(text)
end
--@ f_first: base
function K.f_first(v)
  local items, n = K.aslist(v, "first")
  if n == 0 then return nil end
  return items[1]
end
--@ f_last: base
function K.f_last(v)
  local items, n = K.aslist(v, "last")
  if n == 0 then return nil end
  return items[n]
end
--@ f_flatten: base
function K.f_flatten(v)
  local items, n = K.aslist(v, "flatten")
  local out, m = {}, 0
  for i = 1, n do
    local x = items[i]
    if K.islist(x) and not K.isq(x) and (KIND[x] == "L" or next(x) ~= nil) then
      for j = 1, K.size(x) do m = m + 1; out[m] = x[j] end
    else
      m = m + 1; out[m] = x
    end
  end
  return K.list(out, m)
end
--@ f_float: fn_numeric fn_tonumber
function K.f_float(v)
  if v == nil then return nil end
  return K.num(K.tonumber(v), "float")
end
--@ f_number: fn_tonumber
function K.f_number(v) return K.tonumber(v) end
--@ f_int: fn_numeric fn_tonumber
function K.f_int(v)
  if v == nil then return nil end
  local n = v
  if type(v) == "string" then n = K.tonumber(v) end
  if type(n) ~= "number" then K.err("`int` expects a number or a numeric string, got " .. K.typename(v)) end
  K.finite(n, "int")
  if n < 0 then return math.ceil(n) end
  return math.floor(n)
end
--@ f_format: str fn_numeric
function K.pystr(v)
  if v == nil then return "None" end
  if v == true then return "True" end
  if v == false then return "False" end
  return K.str(v)
end
function K.f_format(template, ...)
  K.string(template, "format")
  local args, count, used = {...}, select("#", ...), 0
  local out = string.gsub(template, "%%([-+ #0]*%d*%.?%d*)([%%sdifeEgGxXoc])", function(flags, conv)
    if conv == "%" then return "%" end
    used = used + 1
    if used > count then K.err("`format` failed: not enough arguments for format string") end
    local a = args[used]
    if conv == "s" then return string.format("%" .. flags .. "s", K.pystr(a)) end
    if type(a) ~= "number" then K.err("`format` failed: a number is required, not " .. K.typename(a)) end
    if conv == "i" or conv == "d" then
      if a < 0 then a = math.ceil(a) else a = math.floor(a) end
      return string.format("%" .. flags .. ".0f", a)
    end
    return string.format("%" .. flags .. conv, a)
  end)
  if used < count then K.err("`format` failed: not all arguments converted during string formatting") end
  return out
end
--@ f_from_items: base
function K.f_from_items(v)
  local items, n = K.aslist(v, "from_items")
  local out = {}
  for i = 1, n do
    local pair = items[i]
    if not (K.islist(pair) and K.size(pair) == 2) then K.err("`from_items` expects [key, value] pairs") end
    if type(pair[1]) ~= "string" then K.err("`from_items` needs string keys, got " .. K.typename(pair[1])) end
    out[pair[1]] = pair[2]
  end
  return K.map(out)
end
--@ f_get: base
function K.f_get(v, key, default)
  local found
  if K.ismap(v) and not K.isq(v) and (next(v) == nil or not K.islist(v)) then
    if type(key) == "table" then K.err("unhashable type: " .. K.typename(key)) end
    found = v[key]
  elseif K.islist(v) and type(key) == "number" then
    local i = key
    if i < 0 then i = math.ceil(i) else i = math.floor(i) end
    if i >= 0 and i < K.size(v) then found = v[i + 1] end
  end
  if found == nil then return default end
  return found
end
--@ f_is_bool: base
function K.f_is_bool(v) return type(v) == "boolean" end
--@ f_is_list: base
function K.f_is_list(v) return K.islist(v) and not K.isq(v) end
--@ f_is_map: base
function K.f_is_map(v) return K.ismap(v) and not K.isq(v) end
--@ f_is_number: base
function K.f_is_number(v) return type(v) == "number" end
--@ f_is_string: base
function K.f_is_string(v) return type(v) == "string" end
--@ f_items: base
function K.need_map(v, fn)
  if not K.ismap(v) or K.isq(v) then K.err("`" .. fn .. "` expects an object, got " .. K.typename(v)) end
end
function K.f_items(v)
  if v == nil then return K.list({}, 0) end
  K.need_map(v, "items")
  local out, keys = {}, K.sortedkeys(v)
  for i, k in ipairs(keys) do out[i] = K.list({k, v[k]}, 2) end
  return K.list(out, #keys)
end
--@ f_keys: f_items
function K.f_keys(v)
  if v == nil then return K.list({}, 0) end
  K.need_map(v, "keys")
  local keys = K.sortedkeys(v)
  return K.list(keys, #keys)
end
--@ f_values: f_items
function K.f_values(v)
  if v == nil then return K.list({}, 0) end
  K.need_map(v, "values")
  local out, keys = {}, K.sortedkeys(v)
  for i, k in ipairs(keys) do out[i] = v[k] end
  return K.list(out, #keys)
end
--@ f_join: str fn_numeric
function K.f_join(v, sep)
  K.string(sep, "join")
  local items, n = K.aslist(v, "join")
  local parts = {}
  for i = 1, n do parts[i] = K.str(items[i]) end
  return table.concat(parts, sep)
end
--@ f_lower: fn_numeric
function K.f_lower(v) return string.lower(K.string(v, "lower")) end
--@ f_upper: fn_numeric
function K.f_upper(v) return string.upper(K.string(v, "upper")) end
--@ f_trim: fn_numeric
function K.f_trim(v) return (string.match(K.string(v, "trim"), "^%s*(.-)%s*$")) end
--@ f_match: fn_numeric
function K.f_match(v, pattern, groups)
  K.string(v, "match")
  local found = {string.find(v, pattern)}
  if found[1] == nil then return nil end
  if groups == 0 then return K.list({string.sub(v, found[1], found[2])}, 1) end
  local out = {}
  for i = 1, groups do out[i] = found[i + 2] end
  return K.list(out, groups)
end
--@ f_match_all: fn_numeric
function K.f_match_all(v, pattern, groups)
  K.string(v, "match_all")
  local out, n = {}, 0
  for a, b, c, d, e, f, g, h in string.gmatch(v, pattern) do
    n = n + 1
    out[n] = K.list({a, b, c, d, e, f, g, h}, math.max(groups, 1))
  end
  return K.list(out, n)
end
--@ f_extreme: base
function K.extreme(fn, greater, ...)
  local values, count = {...}, select("#", ...)
  if count == 1 and K.islist(values[1]) and not K.isq(values[1]) then
    values, count = values[1], K.size(values[1])
  end
  local best = nil
  for i = 1, count do
    local v = values[i]
    if v ~= nil then
      if best == nil then best = v
      else
        local same = type(v) == type(best)
        if not (same and (type(v) == "number" or type(v) == "string")) then
          local kinds = {K.typename(v), K.typename(best)}
          table.sort(kinds)
          K.err("`" .. fn .. "` cannot compare " .. kinds[1] .. ", " .. kinds[2])
        end
        if (greater and v > best) or (not greater and v < best) then best = v end
      end
    end
  end
  return best
end
--@ f_max: f_extreme
function K.f_max(...) return K.extreme("max", true, ...) end
--@ f_min: f_extreme
function K.f_min(...) return K.extreme("min", false, ...) end
--@ f_merge: base
function K.f_merge(...)
  local out = {}
  for i = 1, select("#", ...) do
    local item = select(i, ...)
    if item ~= nil then
      if not K.ismap(item) or K.isq(item) then K.err("`merge` expects objects, got " .. K.typename(item)) end
      for k, x in pairs(item) do out[k] = x end
    end
  end
  return K.map(out)
end
--@ f_omit: f_items
function K.f_omit(v, ...)
  if v == nil then return nil end
  K.need_map(v, "omit")
  local drop = {}
  for i = 1, select("#", ...) do local k = select(i, ...); if k ~= nil then drop[k] = true end end
  local out = {}
  for k, x in pairs(v) do if not drop[k] then out[k] = x end end
  return K.map(out)
end
--@ f_pick: f_items
function K.f_pick(v, ...)
  if v == nil then return nil end
  K.need_map(v, "pick")
  local out = {}
  for i = 1, select("#", ...) do
    local k = select(i, ...)
    if type(k) == "string" and v[k] ~= nil then out[k] = v[k] end
  end
  return K.map(out)
end
--@ f_prune: base
function K.dropped(v, drop, n)
  for i = 1, n do
    local d = drop[i]
    if type(v) == "number" and type(d) == "number" and v == d then return true end
    if type(v) == "string" and type(d) == "string" and v == d then return true end
  end
  return false
end
function K.prune(v, drop, n)
  if type(v) == "table" and KIND[v] ~= "Q" then
    if K.islist(v) and (next(v) ~= nil or KIND[v] == "L") then
      local out, m = {}, 0
      for i = 1, K.size(v) do
        local x = K.prune(v[i], drop, n)
        if x ~= nil then m = m + 1; out[m] = x end
      end
      if m == 0 then return nil end
      return K.list(out, m)
    end
    local out, any = {}, false
    for k, x in pairs(v) do
      local kept = K.prune(x, drop, n)
      if kept ~= nil then out[k] = kept; any = true end
    end
    if not any then return nil end
    return K.map(out)
  end
  if K.dropped(v, drop, n) then return nil end
  return v
end
function K.f_prune(v, drop)
  local items, n = K.aslist(drop, "prune")
  return K.prune(v, items, n)
end
--@ f_quantity: quantity str
function K.f_quantity(v) return K.quantity(v) end
--@ f_range: fn_numeric
function K.f_range(v)
  local n = K.num(v, "range")
  if n < 0 or n > 100000 then K.err("`range` takes 0 to 100000") end
  if n < 0 then n = math.ceil(n) else n = math.floor(n) end
  local out = {}
  for i = 1, n do out[i] = i - 1 end
  return K.list(out, n)
end
--@ f_sort: base
function K.f_sort(v)
  local items, n = K.aslist(v, "sort")
  local out = {}
  for i = 1, n do
    local x = items[i]
    if not (type(x) == "number" or type(x) == "string") or (i > 1 and type(x) ~= type(items[1])) then
      K.err("`sort` needs values of one comparable type")
    end
    out[i] = x
  end
  table.sort(out)
  return K.list(out, n)
end
--@ f_split: fn_numeric
function K.f_split(v, sep)
  K.string(v, "split"); K.string(sep, "split")
  if sep == "" then K.err("`split` needs a non-empty separator") end
  local out, n, start = {}, 0, 1
  while true do
    local a, b = string.find(v, sep, start, true)
    n = n + 1
    if a == nil then out[n] = string.sub(v, start); break end
    out[n] = string.sub(v, start, a - 1)
    start = b + 1
  end
  return K.list(out, n)
end
--@ f_str: str
function K.f_str(v) return K.str(v) end
--@ f_sum: quantity fn_numeric
function K.f_sum(v)
  local items, n = K.aslist(v, "sum")
  local quantities = false
  for i = 1, n do if K.isq(items[i]) then quantities = true end end
  if quantities then
    local total = K.q("0")
    for i = 1, n do
      local x = items[i]
      if x ~= nil then
        if not K.isq(x) then x = K.asq(K.num(x, "sum")) end
        total = K.qadd(total, x)
      end
    end
    return total
  end
  local total = 0
  for i = 1, n do if items[i] ~= nil then total = total + K.num(items[i], "sum") end end
  return total
end
--@ f_type: base
function K.f_type(v) return K.typename(v) end
--@ f_unique: equal
function K.f_unique(v)
  local items, n = K.aslist(v, "unique")
  local out, m = {}, 0
  for i = 1, n do
    local seen = false
    for j = 1, m do
      if K.deq(out[j], items[i]) then seen = true; break end
    end
    if not seen then m = m + 1; out[m] = items[i] end
  end
  return K.list(out, m)
end
--@ f_merge_conditions: str
function K.cond_text(v, what)
  if type(v) ~= "string" and type(v) ~= "number" then
    K.err("`merge_conditions`: " .. what .. " is " .. K.typename(v) .. ", not a string")
  end
  return K.str(v)
end
function K.lua_eq(a, b)
  if type(a) == "number" and type(b) == "number" then return a == b end
  if type(a) == "table" or type(b) == "table" or type(a) == "boolean" or type(b) == "boolean" then
    return a == b
  end
  return a == b
end
function K.f_merge_conditions(v)
  local items, n = K.aslist(v, "merge_conditions")
  local merged, m = {}, 0
  for i = 1, n do
    local item = items[i]
    if not K.ismap(item) or K.isq(item) then
      K.err("`merge_conditions` expects status items, got " .. K.typename(item))
    end
    local status = item.status
    local conditions = nil
    if K.ismap(status) then conditions = status.conditions end
    if K.islist(conditions) then
      for j = 1, K.size(conditions) do
        local c = conditions[j]
        if not K.ismap(c) then K.err("a condition is an object, not " .. K.typename(c)) end
        local message = K.cond_text(item.clusterName, "a clusterName") .. "=" ..
          K.cond_text(c.message, "a condition message")
        local kept = nil
        for k = 1, m do
          local cand = merged[k]
          if K.lua_eq(cand.type, c.type) and K.lua_eq(cand.status, c.status) and K.lua_eq(cand.reason, c.reason) then
            kept = cand; break
          end
        end
        if kept == nil then
          local copy = K.map({})
          for key, x in pairs(c) do copy[key] = x end
          copy.message = message
          m = m + 1; merged[m] = copy
        else
          kept.message = kept.message .. ", " .. message
        end
      end
    end
  end
  return K.list(merged, m)
end
--@ f_now: base
function K.f_now() return os.date("!%Y-%m-%dT%H:%M:%SZ") end
--@ f_pod_requirements: quantity
function K.f_pod_requirements(t) return K.kube().accuratePodRequirements(t) end
--@ f_pod_dependencies: quantity
function K.f_pod_dependencies(t, ns) return K.kube().getPodDependencies(t, ns) end
--@ f_resource_add: quantity
function K.f_resource_add(...)
  local args = {...}
  local n = select("#", ...)
  for i = 1, n do args[i] = K.qarg(args[i]) end
  return K.kube().resourceAdd(unpack(args, 1, n))
end
--@ f_resource_fold: f_resource_add
function K.f_resource_fold(start, v)
  local items, n = K.aslist(v, "resource_fold")
  local total = start
  for i = 1, n do total = K.f_resource_add(total, items[i]) end
  return total
end
--@ f_resource_quantity: quantity
function K.f_resource_quantity(v) return K.kube().getResourceQuantity(K.qarg(v)) end
"""


def _parse_chunks(text: str) -> dict[str, tuple[tuple[str, ...], str]]:
    chunks: dict[str, tuple[tuple[str, ...], str]] = {}
    for part in re.split(r"^--@ ", text, flags=re.MULTILINE)[1:]:
        header, _, body = part.partition("\n")
        name, _, deps = header.partition(":")
        chunks[name.strip()] = (tuple(deps.split()), body.rstrip() + "\n")
    return chunks


PRELUDE_CHUNKS = _parse_chunks(_PRELUDE + _FUNCTIONS)


def _closure(names: frozenset[str]) -> set[str]:
    wanted: set[str] = set()
    stack = ["base", *names]
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        wanted.add(name)
        stack.extend(PRELUDE_CHUNKS[name][0])
    return wanted


@cache
def prelude_for(names: frozenset[str]) -> str:
    """The prelude chunks ``names`` need, in prelude order (``base`` always comes first)."""
    wanted = _closure(names)
    return "".join(body for name, (_, body) in PRELUDE_CHUNKS.items() if name in wanted)
