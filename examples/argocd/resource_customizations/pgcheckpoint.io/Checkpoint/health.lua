-- Argo CD health check for pgcheckpoint.io/Checkpoint (https://github.com/pgcheckpoint/pgcheckpoint):
-- Proven -> Healthy, Failed -> Degraded, being deleted or any other phase -> Progressing,
-- with the Checkpoint's status.message as the message.
local hs = {}
if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Checkpoint is being deleted"
  return hs
end
local status = obj.status
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the pgcheckpoint operator"
  return hs
end
if status.phase == "Proven" then
  hs.status = "Healthy"
elseif status.phase == "Failed" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
if status.message ~= nil and status.message ~= "" then
  hs.message = status.message
else
  hs.message = "Checkpoint is " .. status.phase
end
return hs
