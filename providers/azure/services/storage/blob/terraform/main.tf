# Blob containers for the infrar storage capability: one private container per logical name in
# the code, in one storage account per environment. Requests need an Azure AD token (shared
# keys and anonymous access are off) over TLS 1.2 or later; data is encrypted at rest twice.
# Each container gets a custom role with exactly the data actions the code needs, assigned on
# that container alone.

variable "buckets" {
  description = "Logical name -> physical name and the Azure actions the code uses on it."
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

variable "app_principal_ids" {
  description = "Object IDs that receive each container's role."
  type        = list(string)
  default     = []
}

variable "service_grants" {
  description = "Service name -> its identity and, by logical name, what its code does with each bucket."
  type = map(object({
    principal = string
    resources = map(list(string))
  }))
  default = {}
}

variable "versioning" {
  description = "Keep earlier versions of every blob."
  type        = bool
  default     = true
}

variable "soft_delete_days" {
  description = "Days a deleted blob or container can still be restored."
  type        = number
  default     = 7
}

variable "replication_type" {
  description = "Storage redundancy."
  type        = string
  default     = "GRS"
}

data "azurerm_client_config" "current" {}

locals {
  tags                = merge(var.tags, { project = var.project, environment = var.environment })
  resource_group_name = var.resource_group_name != "" ? var.resource_group_name : join("-", compact(["infrar", var.project, var.environment]))
  # Account names are global: derived from the subscription, project and environment only, so
  # adding a container never renames (and so never replaces) the account.
  account_name = var.account_name != "" ? var.account_name : "infrar${substr(sha1("${data.azurerm_client_config.current.subscription_id}/${var.project}/${var.environment}"), 0, 17)}"
  # Data actions on blobs are granted per container; the others (user delegation keys for
  # signed URLs) exist only on the account.
  blob_actions = {
    for key, bucket in var.buckets : key => sort([for p in bucket.permissions : p if length(regexall("/blobs/", p)) > 0])
  }
  account_actions = sort(distinct(flatten([
    for bucket in var.buckets : [for p in bucket.permissions : p if length(regexall("/blobs/", p)) == 0]
  ])))
  grants = {
    for pair in setproduct(keys(var.buckets), var.app_principal_ids) : "${pair[0]} ${pair[1]}" => {
      bucket    = pair[0]
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
  # checkov:skip=CKV_AZURE_33:The account serves blobs only; no queue exists whose requests could be logged.
  # checkov:skip=CKV2_AZURE_1:Encrypted at rest twice with Microsoft-managed keys; customer keys need a Key Vault the project owns.
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

  blob_properties {
    versioning_enabled = var.versioning

    delete_retention_policy {
      days = var.soft_delete_days
    }

    container_delete_retention_policy {
      days = var.soft_delete_days
    }
  }

  sas_policy {
    expiration_period = "00.01:00:00"
  }
}

resource "azurerm_storage_container" "this" {
  # checkov:skip=CKV2_AZURE_21:Read logs need a Log Analytics workspace or a log account, an account-level choice outside this module.
  for_each = var.buckets

  name                  = each.value.name
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_role_definition" "container" {
  for_each = var.buckets

  name        = "infrar ${local.account_name} ${each.value.name}"
  scope       = azurerm_resource_group.this.id
  description = "What the ${var.project} ${var.environment} code does with container ${each.value.name}."

  permissions {
    actions      = []
    data_actions = local.blob_actions[each.key]
  }

  assignable_scopes = [azurerm_resource_group.this.id]
}

resource "azurerm_role_assignment" "container" {
  for_each = local.grants

  scope              = azurerm_storage_container.this[each.value.bucket].id
  role_definition_id = azurerm_role_definition.container[each.value.bucket].role_definition_resource_id
  principal_id       = each.value.principal
}

resource "azurerm_role_definition" "account" {
  count = length(local.account_actions) > 0 ? 1 : 0

  name        = "infrar ${local.account_name} account"
  scope       = azurerm_resource_group.this.id
  description = "Lets the ${var.project} ${var.environment} code sign URLs with user delegation keys."

  permissions {
    actions = local.account_actions
  }

  assignable_scopes = [azurerm_resource_group.this.id]
}

resource "azurerm_role_assignment" "account" {
  for_each = length(local.account_actions) > 0 ? toset(var.app_principal_ids) : toset([])

  scope              = azurerm_storage_account.this.id
  role_definition_id = azurerm_role_definition.account[0].role_definition_resource_id
  principal_id       = each.value
}

# Per service: a custom role per container it uses, with what its code does there alone.
locals {
  service_containers = merge({}, [
    for name, grant in var.service_grants : {
      for key, permissions in grant.resources : "${name} ${key}" => {
        service     = name
        bucket      = key
        principal   = grant.principal
        permissions = sort([for p in permissions : p if length(regexall("/blobs/", p)) > 0])
      }
    }
  ]...)
  service_account_actions = {
    for name, grant in var.service_grants : name => {
      principal = grant.principal
      actions   = sort(distinct([for p in flatten(values(grant.resources)) : p if length(regexall("/blobs/", p)) == 0]))
    } if length([for p in flatten(values(grant.resources)) : p if length(regexall("/blobs/", p)) == 0]) > 0
  }
}

resource "azurerm_role_definition" "service_container" {
  for_each = { for key, grant in local.service_containers : key => grant if length(grant.permissions) > 0 }

  name        = "infrar ${local.account_name} ${var.buckets[each.value.bucket].name} ${each.value.service}"
  scope       = azurerm_resource_group.this.id
  description = "What the ${each.value.service} service of ${var.project} ${var.environment} does with container ${var.buckets[each.value.bucket].name}."

  permissions {
    actions      = []
    data_actions = each.value.permissions
  }

  assignable_scopes = [azurerm_resource_group.this.id]
}

resource "azurerm_role_assignment" "service_container" {
  for_each = { for key, grant in local.service_containers : key => grant if length(grant.permissions) > 0 }

  scope              = azurerm_storage_container.this[each.value.bucket].id
  role_definition_id = azurerm_role_definition.service_container[each.key].role_definition_resource_id
  principal_id       = each.value.principal
  principal_type     = "ServicePrincipal"
}

resource "azurerm_role_definition" "service_account" {
  for_each = local.service_account_actions

  name        = "infrar ${local.account_name} account ${each.key}"
  scope       = azurerm_resource_group.this.id
  description = "Lets the ${each.key} service of ${var.project} ${var.environment} sign URLs with user delegation keys."

  permissions {
    actions = each.value.actions
  }

  assignable_scopes = [azurerm_resource_group.this.id]
}

resource "azurerm_role_assignment" "service_account" {
  for_each = local.service_account_actions

  scope              = azurerm_storage_account.this.id
  role_definition_id = azurerm_role_definition.service_account[each.key].role_definition_resource_id
  principal_id       = each.value.principal
  principal_type     = "ServicePrincipal"
}

output "container_names" {
  description = "Physical container names, by logical name."
  value       = { for key, container in azurerm_storage_container.this : key => container.name }
}

output "account_url" {
  description = "The blob endpoint of the storage account."
  value       = azurerm_storage_account.this.primary_blob_endpoint
}

output "container_roles" {
  description = "The custom role of each container, by logical name."
  value       = { for key, role in azurerm_role_definition.container : key => role.role_definition_resource_id }
}
