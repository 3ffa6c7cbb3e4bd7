# Queue Storage for the infrar queue capability: one queue per logical name in the code, in a
# storage account of its own per environment (not the blob account, so each capability's
# module stands alone). Requests need an Azure AD token (shared keys are off) over TLS 1.2 or
# later; data is encrypted at rest twice; reads, writes and deletes are logged. Each queue gets
# a custom role with exactly the data actions the code needs, assigned on that queue alone.
#
# Queue Storage has no dead-letter queue: a message nobody acknowledges is delivered again
# until its time to live (seven days) runs out. The SDK sets no other time to live.

variable "queues" {
  description = "Logical name -> physical name and the Azure data actions the code uses on it."
  type = map(object({
    name        = string
    permissions = list(string)
  }))
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "project" {
  description = "Project name."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

variable "app_principal_ids" {
  description = "Object IDs that receive each queue's role."
  type        = list(string)
  default     = []
}

variable "service_grants" {
  description = "Service name -> its identity and, by logical name, what its code does with each queue."
  type = map(object({
    principal = string
    resources = map(list(string))
  }))
  default = {}
}

variable "resource_group_name" {
  description = "Resource group to create; empty derives one."
  type        = string
  default     = ""
}

variable "account_name" {
  description = "Storage account name; empty derives one."
  type        = string
  default     = ""
}

variable "replication_type" {
  description = "Storage redundancy."
  type        = string
  default     = "GRS"
}

variable "log_retention_days" {
  description = "Days the queue request logs are kept."
  type        = number
  default     = 30
}

data "azurerm_client_config" "current" {}

locals {
  tags                = merge(var.tags, { project = var.project, environment = var.environment })
  resource_group_name = var.resource_group_name != "" ? var.resource_group_name : join("-", compact(["infrar", var.project, var.environment, "queues"]))
  # Account names are global: derived from the subscription, project and environment only, so
  # adding a queue never renames (and so never replaces) the account.
  account_name = var.account_name != "" ? var.account_name : "infrarq${substr(sha1("${data.azurerm_client_config.current.subscription_id}/${var.project}/${var.environment}/queues"), 0, 17)}"
  grants = {
    for pair in setproduct(keys(var.queues), var.app_principal_ids) : "${pair[0]} ${pair[1]}" => {
      queue     = pair[0]
      principal = pair[1]
    }
  }
}

resource "azurerm_resource_group" "this" {
  name     = local.resource_group_name
  location = var.location
  tags     = local.tags
}

resource "azurerm_storage_account" "this" {
  # checkov:skip=CKV2_AZURE_1:Encrypted at rest twice with Microsoft-managed keys; customer keys need a Key Vault the project owns.
  # checkov:skip=CKV2_AZURE_38:The account holds queues only; soft delete protects blobs and containers, which it has none of.
  # checkov:skip=CKV2_AZURE_33:A private endpoint needs a virtual network, which the application may not run in.
  # checkov:skip=CKV_AZURE_59:The application may run outside Azure; every request still needs an Azure AD token over TLS.
  # checkov:skip=CKV_AZURE_35:The application may run outside Azure; every request still needs an Azure AD token over TLS.
  name                              = local.account_name
  resource_group_name               = azurerm_resource_group.this.name
  location                          = azurerm_resource_group.this.location
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = var.replication_type
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  infrastructure_encryption_enabled = true
  local_user_enabled                = false
  public_network_access_enabled     = true
  tags                              = local.tags

  queue_properties {
    logging {
      delete                = true
      read                  = true
      write                 = true
      version               = "1.0"
      retention_policy_days = var.log_retention_days
    }
  }

  sas_policy {
    expiration_period = "00.01:00:00"
  }
}

resource "azurerm_storage_queue" "this" {
  for_each = var.queues

  # Queues take the account's name up to azurerm 4.x's later releases, so this works from 4.9 on;
  # Terraform then creates them through the queue endpoint, signed in with Azure AD.
  name                 = each.value.name
  storage_account_name = azurerm_storage_account.this.name
}

resource "azurerm_role_definition" "queue" {
  for_each = var.queues

  name        = "infrar ${local.account_name} ${each.value.name}"
  scope       = azurerm_resource_group.this.id
  description = "What the ${var.project} ${var.environment} code does with queue ${each.value.name}."

  permissions {
    actions      = []
    data_actions = sort(each.value.permissions)
  }

  assignable_scopes = [azurerm_resource_group.this.id]
}

resource "azurerm_role_assignment" "queue" {
  for_each = local.grants

  scope              = azurerm_storage_queue.this[each.value.queue].resource_manager_id
  role_definition_id = azurerm_role_definition.queue[each.value.queue].role_definition_resource_id
  principal_id       = each.value.principal
}

# Per service: a custom role per queue it uses, with what its code does there alone.
locals {
  service_queues = merge({}, [
    for name, grant in var.service_grants : {
      for key, permissions in grant.resources : "${name} ${key}" => {
        service     = name
        queue       = key
        principal   = grant.principal
        permissions = sort(permissions)
      } if length(permissions) > 0
    }
  ]...)
}

resource "azurerm_role_definition" "service_queue" {
  for_each = local.service_queues

  name        = "infrar ${local.account_name} ${var.queues[each.value.queue].name} ${each.value.service}"
  scope       = azurerm_resource_group.this.id
  description = "What the ${each.value.service} service of ${var.project} ${var.environment} does with queue ${var.queues[each.value.queue].name}."

  permissions {
    actions      = []
    data_actions = each.value.permissions
  }

  assignable_scopes = [azurerm_resource_group.this.id]
}

resource "azurerm_role_assignment" "service_queue" {
  for_each = local.service_queues

  scope              = azurerm_storage_queue.this[each.value.queue].resource_manager_id
  role_definition_id = azurerm_role_definition.service_queue[each.key].role_definition_resource_id
  principal_id       = each.value.principal
  principal_type     = "ServicePrincipal"
}

output "queue_names" {
  description = "Physical queue names, by logical name."
  value       = { for key, queue in azurerm_storage_queue.this : key => queue.name }
}

output "account_url" {
  description = "The queue endpoint of the storage account."
  value       = azurerm_storage_account.this.primary_queue_endpoint
}

output "queue_roles" {
  description = "The custom role of each queue, by logical name."
  value       = { for key, role in azurerm_role_definition.queue : key => role.role_definition_resource_id }
}
