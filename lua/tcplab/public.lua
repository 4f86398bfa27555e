-- tcplab.public: wraps a module's function so that a mistake in its
-- arguments is reported at the line of the script that called it.
--
-- Inside the modules, argument errors are raised without a position
-- (level 0); the wrapper raises them again one level up, at the caller.

return function(fn)
  return function(...)
    local r = table.pack(pcall(fn, ...))
    if r[1] then return table.unpack(r, 2, r.n) end
    error(r[2], 2)
  end
end
